"""Enrichment errors have a kind, and each kind has its policy.

* :class:`TransientEnrichmentError`: may work later (timeouts, 429, 5xx). Retried with
  backoff up to ``ENRICHMENT_MAX_RETRIES``; the note goes back to QUEUED meanwhile.
* :class:`PermanentEnrichmentError`: will not work by trying again (bad key, unknown
  model, output that never validates). The note is FAILED at once, with the reason.
* :class:`BudgetExhausted`: nothing is wrong, but we may not spend now. The note waits
  in QUEUED with the reason shown, and resumes later; it never fails for this.
* Anything else is unexpected: the note is ERROR, and the exception is re-raised so that
  RQ's failed registry keeps the traceback.
"""


class EnrichmentError(Exception):
    kind = "unexpected"


class TransientEnrichmentError(EnrichmentError):
    kind = "transient"

    def __init__(self, message, *, retry_after: float | None = None, provider_wide: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        # True when the fault says the provider as a whole is in trouble (429, 5xx,
        # unreachable): only those open the circuit breaker.
        self.provider_wide = provider_wide


class PermanentEnrichmentError(EnrichmentError):
    kind = "permanent"


class InvalidEnrichmentError(PermanentEnrichmentError):
    """The enricher's output does not match the enrichment schema."""

    kind = "invalid_output"


class BudgetExhausted(EnrichmentError):
    kind = "budget"

    def __init__(self, message, *, resume_after: float):
        super().__init__(message)
        self.resume_after = resume_after
