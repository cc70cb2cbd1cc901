"""One enrichment attempt for one note: claim, enrich, store, with each outcome fenced.

The job (:mod:`enrichment.jobs`) is a thin wrapper around :func:`run`. Every status
change goes through :func:`notes.services.transition`; the claim must name the job id the
note waits for, and every later write presents the attempt's token, so a late, duplicate
or abandoned attempt can never overwrite a newer state. Where a status change and the
run history must agree, both are written in one transaction.
"""

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import ShutDownImminentException
from rq.timeouts import JobTimeoutException

from notes import delivery, tagging
from notes.models import Note
from notes.services import deliver, transition
from notes.status import ProcessingStatus
from notesite.logs import redact

from . import limits
from .enrichers import get_enricher
from .errors import (
    BudgetExhausted,
    InvalidEnrichmentError,
    PermanentEnrichmentError,
    TransientEnrichmentError,
)
from .models import EnrichmentRun, RunOutcome
from .schema import stored_form
from .text.words import text_stats

logger = logging.getLogger(__name__)

S = ProcessingStatus
MAX_ERROR_LENGTH = 2000
# What a result (or a failure that carries usage) tells the run history.
RUN_EXTRAS = ("input_tokens", "output_tokens", "provider_calls", "model", "prompt_version")


@dataclass
class Attempt:
    note_id: int
    job_id: str | None
    token: uuid.UUID
    content: str
    content_hash: str
    attempt: int
    run_id: int
    started: float

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)

    def finish_run(self, outcome: str, exc: BaseException | None = None, result=None) -> None:
        """Close this attempt's run-history row."""
        fields = {
            "outcome": outcome,
            "finished_at": timezone.now(),
            "duration_ms": self.elapsed_ms(),
        }
        if exc is not None:
            fields["error_kind"] = getattr(exc, "kind", "unexpected")
            fields["error_message"] = _reason(exc)
        usage = result if result is not None else getattr(exc, "usage", None)
        fields.update({name: v for name in RUN_EXTRAS if (v := getattr(usage, name, None))})
        EnrichmentRun.objects.filter(pk=self.run_id).update(**fields)


def claim(note_id: int, job_id: str | None) -> Attempt | None:
    """QUEUED -> PROCESSING for the job the note is waiting for, and the attempt's
    run-history row, in one transaction; None if the note is gone or another run has it.

    Should the connection break after the commit, the repeat finds the note PROCESSING
    and skips; the reaper queues the note again.
    """
    token = uuid.uuid4()

    def write():
        with transaction.atomic():
            if not transition(
                note_id,
                S.PROCESSING,
                source=S.QUEUED,
                # A job whose id the note no longer carries is a stale duplicate delivery.
                match={"job_id": job_id} if job_id is not None else None,
                processing_token=token,
                attempts=F("attempts") + 1,
                retry_at=None,
            ):
                return None
            row = Note.objects.values("content", "content_hash", "attempts").get(pk=note_id)
            run = EnrichmentRun.objects.create(
                note_id=note_id,
                attempt=row["attempts"],
                job_id=job_id or "",
                backend=settings.ENRICHMENT_BACKEND,
                content_hash=row["content_hash"],
                started_at=timezone.now(),
            )
        return Attempt(
            note_id,
            job_id,
            token,
            row["content"],
            row["content_hash"],
            row["attempts"],
            run_id=run.pk,
            started=time.monotonic(),
        )

    return _reconnecting(write)


def _reconnecting(write):
    """Run a database write; if the connection died meanwhile, reconnect and run it once more.

    The enricher may run for minutes; PostgreSQL may restart or an idle-connection killer
    may close our connection in that time. The paid-for result must not be lost to that:
    the write is repeated on a fresh connection, and the attempt's token still fences it.
    """
    try:
        return write()
    except (OperationalError, InterfaceError) as exc:
        if connection.in_atomic_block:
            raise
        logger.warning("Database connection lost (%s); reconnecting once", type(exc).__name__)
        connection.close()
        return write()


def _reason(exc: BaseException) -> str:
    # Reasons are stored and shown to people: nothing secret an exception carried.
    text = redact(str(exc)) or type(exc).__name__
    return text[:MAX_ERROR_LENGTH]


def retry_delay(retry_number: int, retry_after: float | None = None) -> float:
    """Exponential backoff with "equal" jitter (between half and all of the step), never
    sooner than the provider asked."""
    base = settings.ENRICHMENT_RETRY_BASE_DELAY * (2 ** (retry_number - 1))
    delay = random.uniform(base / 2, base)
    if retry_after:
        delay = max(delay, retry_after)
    return delay


def _schedule_retry(attempt: Attempt, exc: TransientEnrichmentError) -> str:
    max_retries = settings.ENRICHMENT_MAX_RETRIES
    retry_number = attempt.attempt  # attempts so far == retries to come next
    if retry_number > max_retries:
        reason = f"Gave up after {max_retries} retries: {_reason(exc)}"
        _end_attempt(attempt, S.FAILED, reason, RunOutcome.FAILED, exc)
        return "failed"
    delay = retry_delay(retry_number, exc.retry_after)
    retry_at = timezone.now() + timedelta(seconds=delay)
    detail = (
        f"retry {retry_number} of {max_retries} at "
        f"{timezone.localtime(retry_at):%H:%M:%S}: {_reason(exc)}"
    )[:255]
    _requeue_attempt(
        attempt, delay=delay, retry_at=retry_at, last_error=_reason(exc), status_detail=detail
    )
    attempt.finish_run(RunOutcome.RETRY, exc)
    return "retry"


def _leave_processing(attempt: Attempt, status, **fields) -> bool:
    """PROCESSING -> ``status`` with ``fields``, fenced by the attempt's token (which it
    clears), reconnecting once if the connection was lost. Returns True if the note moved."""
    return _reconnecting(
        lambda: transition(
            attempt.note_id,
            status,
            source=S.PROCESSING,
            token=attempt.token,
            processing_token=None,
            **fields,
        )
    )


def _requeue_attempt(attempt: Attempt, *, delay: float | None = None, **fields) -> bool:
    """PROCESSING -> QUEUED under a fresh job id (fenced by the attempt's token), then
    deliver that job, after ``delay`` seconds if given. A delivery Redis refuses forgets
    the job id, so the reaper delivers the note later. Returns True if the note moved."""
    job_id = delivery.new_job_id(attempt.note_id)
    requeued = _leave_processing(attempt, S.QUEUED, job_id=job_id, **fields)
    if requeued:
        deliver(attempt.note_id, job_id, delay=delay)
    return requeued


def _wait_for_budget(attempt: Attempt, exc: BudgetExhausted) -> str:
    retry_at = timezone.now() + timedelta(seconds=exc.resume_after)
    # Waiting for budget is not a failed attempt: give the attempt back.
    _requeue_attempt(
        attempt,
        delay=exc.resume_after,
        retry_at=retry_at,
        attempts=F("attempts") - 1,
        status_detail=str(exc)[:255],
    )
    return "waiting"


def _end_attempt(attempt: Attempt, status, reason: str, outcome, exc) -> None:
    """PROCESSING -> a final status with the reason, fenced by the attempt's token, and
    the run closed."""
    _leave_processing(attempt, status, last_error=reason[:MAX_ERROR_LENGTH])
    attempt.finish_run(outcome, exc)


def _interrupted(attempt: Attempt) -> str:
    """The worker is shutting down (deploy): give the note back to the queue, unharmed.

    The attempt does not count against the retry policy: nothing was wrong with the note.
    """
    _requeue_attempt(
        attempt,
        attempts=F("attempts") - 1,
        status_detail="queued again: its worker was shut down",
    )
    attempt.finish_run(RunOutcome.ABANDONED, _Shutdown("The worker was shut down during the run."))
    return "interrupted"


class _Shutdown(Exception):
    kind = "shutdown"


def _reuse_stored_result(attempt: Attempt, enricher) -> bool:
    """No paying twice: complete from the stored enrichment when it was made from the same
    content by the same backend, model and prompt version (unless the note was queued with
    "ignoring cache"). Only enrichers with a ``cache_identity()`` (paid ones) take part."""
    # Declared on the class: an enricher opts in explicitly.
    identity = getattr(type(enricher), "cache_identity", None)
    if identity is None:
        return False
    backend, model, prompt_version = identity(enricher)
    row = (
        Note.objects.filter(pk=attempt.note_id, processing_token=attempt.token)
        .values("ignore_cache", "enrichment_data", "enriched_hash")
        .first()
    )
    if not row or row["ignore_cache"]:
        return False
    data = row["enrichment_data"] or {}
    if not (
        row["enriched_hash"] == attempt.content_hash
        and data.get("backend") == backend
        and data.get("model") == model
        and data.get("prompt_version") == prompt_version
    ):
        return False
    stored = _leave_processing(
        attempt,
        S.COMPLETED,
        last_error="",
        status_detail="Stored result reused (same content, model and prompt version).",
    )
    if not stored:
        return False
    EnrichmentRun.objects.filter(pk=attempt.run_id).update(
        model=model, prompt_version=prompt_version
    )
    attempt.finish_run(RunOutcome.CACHED)
    return True


def _store(attempt: Attempt, data: dict, result) -> bool:
    """PROCESSING -> COMPLETED with the enrichment, fenced by the attempt's token, and the
    run closed (superseded if the fence held), in one transaction."""

    def write():
        with transaction.atomic():
            stored = transition(
                attempt.note_id,
                S.COMPLETED,
                source=S.PROCESSING,
                token=attempt.token,
                processing_token=None,
                enrichment_data=data,
                enriched_hash=attempt.content_hash,
                processed_at=timezone.now(),
                last_error="",
                ignore_cache=False,
            )
            outcome = RunOutcome.COMPLETED if stored else RunOutcome.SUPERSEDED
            attempt.finish_run(outcome, result=result)
        return stored

    return _reconnecting(write)


def run(note_id: int, job_id: str | None = None) -> str:
    """Run one attempt. Returns the outcome: completed, cached, failed, retry, waiting,
    interrupted, skipped, superseded. Unexpected exceptions and timeouts mark the note
    ERROR and are re-raised, so that RQ records them too."""
    log_extra = {"note_id": note_id, "job_id": job_id}
    attempt = claim(note_id, job_id)
    if attempt is None:
        logger.info("Note %s is gone or taken by another run", note_id, extra=log_extra)
        return "skipped"
    log_extra["attempt"] = attempt.attempt
    try:
        context = tagging.enrichment_context(note_id)
        if context.skip:
            return _not_enriched(attempt)
        # A person's choice (local only) overrides the configured backend.
        enricher = get_enricher(context.backend) if context.backend else get_enricher()
        if _reuse_stored_result(attempt, enricher):
            logger.info("Note %s: stored result reused", note_id, extra=log_extra)
            return "cached"
        with limits.spending_for(note_id):
            result = enricher.enrich(
                attempt.content, vocabulary=context.vocabulary, language=context.language
            )
    except (
        TransientEnrichmentError,
        RedisConnectionError,
        RedisTimeoutError,
        OperationalError,
        InterfaceError,
    ) as exc:
        if isinstance(exc, OperationalError | InterfaceError):
            # The person's choices and the spending checks read the database between the
            # claim and the store: a connection lost there is a transient fault too. The
            # retry is written on a fresh connection.
            connection.close()
            exc = TransientEnrichmentError(f"Database unreachable: {type(exc).__name__}")
        elif not isinstance(exc, TransientEnrichmentError):
            # The provider limits (budget, breaker) live in Redis: an outage is a transient
            # fault, not a broken note. The retry's enqueue may fail too; the reaper then
            # delivers it once retry_at has passed.
            exc = TransientEnrichmentError(f"Redis unreachable: {type(exc).__name__}")
        logger.warning("Note %s: transient failure: %s", note_id, _reason(exc), extra=log_extra)
        return _schedule_retry(attempt, exc)
    except BudgetExhausted as exc:
        logger.info("Note %s waits: %s", note_id, exc, extra=log_extra)
        attempt.finish_run(RunOutcome.WAITING, exc)
        return _wait_for_budget(attempt, exc)
    except (PermanentEnrichmentError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            exc = InvalidEnrichmentError(f"The enrichment did not match the schema: {exc}")
        logger.warning("Note %s failed: %s", note_id, _reason(exc), extra=log_extra)
        _end_attempt(attempt, S.FAILED, _reason(exc), RunOutcome.FAILED, exc)
        return "failed"
    except ShutDownImminentException:
        # Raised by the worker's grace-period alarm after SIGTERM (enrichment.worker).
        logger.warning("Note %s: worker shutting down, queued again", note_id, extra=log_extra)
        return _interrupted(attempt)
    except JobTimeoutException:
        # Handled on purpose, then re-raised so RQ records the timeout as well.
        reason = f"Enrichment took longer than QUEUE_JOB_TIMEOUT ({settings.QUEUE_JOB_TIMEOUT} s)."
        _end_attempt(attempt, S.ERROR, reason, RunOutcome.ERROR, PermanentEnrichmentError(reason))
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {_reason(exc)}"
        _end_attempt(attempt, S.ERROR, reason, RunOutcome.ERROR, exc)
        raise
    duration_ms = attempt.elapsed_ms()
    data = stored_form(
        result.enrichment,
        backend=result.backend,
        model=result.model,
        prompt_version=result.prompt_version,
        **text_stats(attempt.content),
    )
    stored = _store(attempt, data, result)
    log_extra["duration_ms"] = duration_ms
    if not stored:
        # The content changed or the attempt was given up on while we worked: the result
        # belongs to an old version and is dropped; the newer request is already queued.
        logger.info("Note %s: result superseded, not stored", note_id, extra=log_extra)
        return "superseded"
    _reconnecting(lambda: tagging.merge_suggestions(note_id))
    logger.info("Note %s enriched in %d ms", note_id, duration_ms, extra=log_extra)
    return "completed"


def _not_enriched(attempt: Attempt) -> str:
    """A note its owner marked "don't enrich": completed without going near a model."""
    _leave_processing(
        attempt, S.COMPLETED, last_error="", status_detail=tagging.NOT_ENRICHED_DETAIL
    )
    attempt.finish_run(RunOutcome.COMPLETED)
    return "completed"
