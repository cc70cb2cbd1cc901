"""The reaper: the database is checked against what RQ publishes, and notes nothing works
on are delivered again.

Redis and the workers are delivery machinery that can fail at any moment; callbacks alone
cannot notice a SIGKILLed worker, a worker lost with its host, or a Redis that
restarted empty. :func:`reap` finds, and repairs:

* PROCESSING notes whose job is not in a started-job registry. A worker keeps its job's
  entry there fresh with a heartbeat every third of ``WORKER_LIVENESS_TTL``; RQ drops the
  entry when the job ends and lets it expire when the worker dies. A slow job is
  therefore never reaped, so the reaper cannot cause a second provider call for a note
  that is still being worked on. Any PROCESSING note older than ``ENRICHMENT_STUCK_AFTER``
  is reaped too. Each is queued again under a new job id, up to ``ENRICHMENT_MAX_REAPS``
  times per request; then it is ERROR with the reason.
* QUEUED notes whose job is on no queue and in no started registry (Redis lost it, it
  expired after ``QUEUE_JOB_TTL``, a worker took it off its queue and died before
  starting it, or its delayed retry is overdue by more than ``WORKER_LIVENESS_TTL``
  because no scheduler moved it): their job id is forgotten, and
  :func:`notes.services.feed` delivers them. Redelivering is always safe: an old job
  that still runs finds another job id on the note and does nothing.

Right after a Redis restart the started registries are empty until the next heartbeats,
so a missing entry is only believed once Redis has been up longer than
``WORKER_LIVENESS_TTL``.

Every change is a compare-and-set on the note's status, job id and token, so several
reapers (or a reaper and a late worker) can run at once: each note is redelivered once.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import batched

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError, ResponseError

from notes import delivery, services
from notes.models import Note
from notes.status import ProcessingStatus

from .models import EnrichmentRun, RunOutcome

logger = logging.getLogger(__name__)

S = ProcessingStatus
CHUNK = 500
# A job is between its queue and its started registry for milliseconds, and a note may
# still be inside its transaction's on-commit hook: younger QUEUED notes are left alone.
QUEUED_GRACE = timedelta(seconds=5)


@dataclass
class ReapReport:
    """What one reaper run did."""

    requeued: int = 0
    errored: int = 0
    delivered: int = 0
    reasons: list[str] = field(default_factory=list)

    def __str__(self):
        return (
            f"{self.requeued} lost attempt(s) queued again, {self.errored} note(s) gave up "
            f"(error), {self.delivered} queued note(s) delivered"
        )


def _queues():
    return [delivery.get_queue(bulk) for bulk in (False, True)]


def running_job_ids() -> set[str]:
    """Jobs a live worker is running: the started-job registries, whose expired entries
    RQ's own cleanup removes first."""
    return {job_id for queue in _queues() for job_id in queue.started_job_registry.get_job_ids()}


def waiting_job_ids() -> set[str]:
    """Jobs that some worker will still take off a queue."""
    return {job_id for queue in _queues() for job_id in queue.get_job_ids()}


def _redis_uptime(connection) -> float:
    """Seconds since Redis started. Where INFO is not allowed (some managed services),
    Redis is taken to have been up for long: STUCK_AFTER stays the backstop."""
    try:
        return float(connection.info("server").get("uptime_in_seconds", 0))
    except ResponseError:
        return float("inf")


def _reap_processing(note: dict, reason: str, report: ReapReport) -> None:
    old_job = note["job_id"]
    # The fence: only the attempt judged lost, not a newer one that started meanwhile.
    fence = {
        "source": S.PROCESSING,
        "token": note["processing_token"],
        "match": {"job_id": old_job},
    }
    if note["reap_count"] >= settings.ENRICHMENT_MAX_REAPS:
        message = (
            f"Gave up after {note['reap_count']} lost attempt(s); the last one: {reason}. "
            "Reprocess the note to try again."
        )
        moved = services.transition(
            note["pk"], S.ERROR, **fence, processing_token=None, last_error=message
        )
        report.errored += moved
    else:
        new_job = delivery.new_job_id(note["pk"])
        moved = services.transition(
            note["pk"],
            S.QUEUED,
            **fence,
            processing_token=None,
            job_id=new_job,
            retry_at=None,
            reap_count=F("reap_count") + 1,
            status_detail=f"queued again: {reason}"[:255],
        )
        if moved:
            report.requeued += 1
            services.deliver(note["pk"], new_job)
    if moved:
        extra = {"note_id": note["pk"], "job_id": old_job}
        logger.warning("Note %s: attempt lost (%s)", note["pk"], reason, extra=extra)
        report.reasons.append(f"note {note['pk']}: {reason}")
        EnrichmentRun.objects.filter(
            note_id=note["pk"], job_id=old_job, outcome=RunOutcome.RUNNING
        ).update(
            outcome=RunOutcome.ABANDONED,
            finished_at=timezone.now(),
            error_kind="abandoned",
            error_message=reason,
        )


def _processing_pass(report: ReapReport, *, trust_missing: bool) -> None:
    now = timezone.now()
    fields = ("pk", "job_id", "processing_token", "status_changed_at", "reap_count")
    notes = Note.objects.filter(processing_status=S.PROCESSING).values(*fields).order_by("pk")
    for rows in batched(notes.iterator(chunk_size=CHUNK), CHUNK):
        # Read after the notes: a job that ended meanwhile is caught by the token fence.
        running = running_job_ids()
        for note in rows:
            age = (now - note["status_changed_at"]).total_seconds()
            if age > settings.ENRICHMENT_STUCK_AFTER:
                reason = f"processing for {int(age)} s, longer than ENRICHMENT_STUCK_AFTER"
            elif note["job_id"] and trust_missing and note["job_id"] not in running:
                reason = "its job is not running: worker lost"
            else:
                continue
            _reap_processing(note, reason, report)


def _queued_pass(report: ReapReport) -> None:
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.WORKER_LIVENESS_TTL)
    notes = (
        Note.objects.filter(processing_status=S.QUEUED, status_changed_at__lt=now - QUEUED_GRACE)
        .exclude(job_id="")
        .exclude(retry_at__gt=overdue)
        .values_list("pk", "job_id")
        .order_by("pk")
    )
    for rows in batched(notes.iterator(chunk_size=CHUNK), CHUNK):
        alive = waiting_job_ids() | running_job_ids()
        for pk, job_id in rows:
            if job_id not in alive and Note.objects.filter(
                pk=pk, processing_status=S.QUEUED, job_id=job_id
            ).update(job_id=""):
                logger.warning("Note %s: its job %s is lost; delivering it again", pk, job_id)
                report.delivered += 1


def reap() -> ReapReport:
    """Find notes nothing works on and deliver them again (see the module docstring).

    Safe to run from several processes at once. Raises :class:`redis.exceptions.RedisError`
    if Redis cannot be reached at all (nothing can be delivered then; the next run will).
    """
    report = ReapReport()
    trust_missing = _redis_uptime(delivery.get_connection()) >= settings.WORKER_LIVENESS_TTL
    _processing_pass(report, trust_missing=trust_missing)
    _queued_pass(report)
    # Notes without a job id: lost jobs, failed enqueues and bulk requests.
    services.feed()
    if report.requeued or report.errored or report.delivered:
        logger.warning("Reaper: %s", report)
    return report


def run_reaper() -> str:
    """The periodic job (:mod:`enrichment.cron`): one reaper run, summarised for RQ's result."""
    try:
        return str(reap())
    except RedisError as exc:
        logger.error("Reaper: Redis unreachable (%s); will try again next run", exc)
        return "skipped: Redis unreachable"
