"""Shared limits on provider calls, kept in Redis so that every worker sees the same state.

* :class:`CircuitBreaker`: after ``ENRICHMENT_BREAKER_THRESHOLD`` consecutive transient
  failures (counted across all workers), provider calls pause for
  ``ENRICHMENT_BREAKER_COOLDOWN`` seconds. Notes wait QUEUED meanwhile (through
  :class:`~enrichment.errors.BudgetExhausted`, which does not use up a retry), so an
  outage never burns the retries of a whole backlog at full speed.
  Only provider-wide faults count (429, 5xx, unreachable), never a timeout that one
  oversized note can cause by itself.
* :func:`check_spending`: before every provider call, ``ENRICHMENT_DAILY_TOKEN_BUDGET``
  tokens per UTC day for everyone and ``ENRICHMENT_PERSON_DAILY_TOKENS`` per person, summed
  from the run history (the database is the source of truth) plus what the note being
  enriched has spent so far.
* What an endpoint is (:func:`profile`): its output mode, context size and token density,
  learned once and remembered per endpoint and model.

Concurrency is not limited here: it is the number of workers serving the queues.
"""

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Subquery, Sum
from django.utils import timezone

from notes import delivery

from .errors import BudgetExhausted

PREFIX = "notesite:llm:"


def endpoint_id(base_url: str, model: str = "") -> str:
    """A short, stable id of an endpoint (and model) for Redis keys; never contains a secret."""
    return hashlib.sha256(f"{base_url}|{model}".encode()).hexdigest()[:16]


def _redis():
    return delivery.get_connection()


def _clock(seconds_from_now: float) -> str:
    at = timezone.now() + timedelta(seconds=seconds_from_now)
    return f"{timezone.localtime(at):%H:%M:%S}"


class CircuitBreaker:
    """Counts consecutive transient failures of one endpoint; opens after a threshold."""

    def __init__(self, endpoint: str):
        self.failures_key = f"{PREFIX}breaker:{endpoint}:failures"
        self.open_key = f"{PREFIX}breaker:{endpoint}:open"

    def check(self) -> None:
        """Raise BudgetExhausted while the breaker is open (the note waits, no retry used)."""
        ttl_ms = _redis().pttl(self.open_key)
        if ttl_ms and ttl_ms > 0:
            wait = ttl_ms / 1000
            reason = _redis().get(self.open_key) or b""
            raise BudgetExhausted(
                f"Provider paused after repeated failures ({reason.decode(errors='replace')}); "
                f"waiting until {_clock(wait)}",
                resume_after=wait,
            )

    def record_success(self) -> None:
        _redis().delete(self.failures_key)

    def record_failure(self, reason: str) -> bool:
        """Count one transient failure. Returns True if this failure opened the breaker."""
        conn = _redis()
        with conn.pipeline() as pipe:
            pipe.incr(self.failures_key)
            # Old failures do not add up forever: a quiet hour resets the count.
            pipe.expire(self.failures_key, 3600)
            count, _ = pipe.execute()
        if count >= settings.ENRICHMENT_BREAKER_THRESHOLD:
            cooldown_ms = max(1, int(settings.ENRICHMENT_BREAKER_COOLDOWN * 1000))
            conn.set(self.open_key, reason[:120], px=cooldown_ms)
            conn.delete(self.failures_key)
            return True
        return False


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight UTC today: the one "today" of the budgets, here and in the admin."""
    now = now or timezone.now()
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def tokens_spent_today(owner_of: int | None = None) -> int:
    """Input + output tokens recorded in the run history since midnight UTC, of everyone
    or of the person who owns note ``owner_of``."""
    from notes.models import Note

    from .models import EnrichmentRun

    runs = EnrichmentRun.objects.filter(started_at__gte=start_of_today())
    if owner_of is not None:
        owner = Note.objects.filter(pk=owner_of).values("owner_id")[:1]
        runs = runs.filter(note__owner_id=Subquery(owner))
    totals = runs.aggregate(i=Sum("input_tokens"), o=Sum("output_tokens"))
    return (totals["i"] or 0) + (totals["o"] or 0)


# The note being enriched: set by the pipeline around one enrichment, so that its owner's
# quota applies without every enricher knowing about people.
_note: ContextVar[int | None] = ContextVar("notesite_note", default=None)


@contextmanager
def spending_for(note_id: int | None):
    """Charge provider calls made inside the block to the owner of note ``note_id``."""
    token = _note.set(note_id)
    try:
        yield
    finally:
        _note.reset(token)


def check_spending(*, pending: int = 0, next_call: int = 0) -> None:
    """Raise BudgetExhausted when the next provider call would pass today's global budget
    or the person's quota; the note then waits QUEUED and resumes later.

    ``pending`` is what the current note has spent already (not yet in the run history),
    ``next_call`` the input tokens the next call will send. What is left to overshoot is
    at most the reply of one call per worker.
    """
    note = _note.get()
    limits = [(settings.ENRICHMENT_DAILY_TOKEN_BUDGET, None, "Daily token budget")]
    if note is not None:
        limits.append((settings.ENRICHMENT_PERSON_DAILY_TOKENS, note, "Your daily token quota"))
    for limit, whose, label in limits:
        if not limit:
            continue
        spent = tokens_spent_today(whose) + pending
        if spent + next_call > limit:
            # Wake up at midnight UTC, or within the hour: an operator may raise the limit.
            midnight = start_of_today() + timedelta(days=1)
            wait = min(max(1.0, (midnight - timezone.now()).total_seconds()), 3600.0)
            raise BudgetExhausted(
                f"{label} spent ({spent} of {limit} tokens); waiting until {_clock(wait)}",
                resume_after=wait,
            )


# --- What an endpoint is ------------------------------------------------------------

# Output modes, richest first. "json_schema_full" sends the whole JSON schema (lengths and
# item counts included) for servers that enforce it with a grammar (llama.cpp, vLLM);
# "json_schema" is OpenAI's strict subset.
MODES = ("json_schema_full", "json_schema", "json_object", "plain")
PROFILE_TTL = 24 * 3600


def _profile_key(endpoint: str) -> str:
    return f"{PREFIX}endpoint:{endpoint}"


def profile(endpoint: str) -> dict[str, str]:
    """What was learned about an endpoint and model: ``mode``, ``server``, ``context``,
    ``tokenize``, ``bytes_per_token`` (all strings, any may be missing)."""
    raw = _redis().hgetall(_profile_key(endpoint))
    return {k.decode(): v.decode() for k, v in raw.items()}


def learn(endpoint: str, **facts) -> None:
    """Remember facts for a day, so that a server upgrade gets a fresh look."""
    key = _profile_key(endpoint)
    with _redis().pipeline() as pipe:
        pipe.hset(key, mapping={k: str(v) for k, v in facts.items()})
        pipe.expire(key, PROFILE_TTL)
        pipe.execute()
