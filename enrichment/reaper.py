"""The reaper: the database is checked against Redis, and what nothing works on is delivered again.

Redis and the workers are delivery machinery that can fail at any moment; callbacks alone
cannot notice a SIGKILLed work horse, a worker lost with its host, or a Redis that restarted
empty. :func:`reap` finds, and repairs:

* PROCESSING notes whose attempt is no longer running: the job is gone from Redis, has
  ended (failed, stopped, finished) without the note recording it, or is "started" by a
  worker that stopped sending heartbeats; and any PROCESSING note older than
  ``ENRICHMENT_STUCK_AFTER``. Each is queued again under a new job id, up to
  ``ENRICHMENT_MAX_REAPS`` times per request; then it is ERROR with the reason.
* QUEUED notes that no job will ever pick up: no job id (the enqueue failed), the job is
  gone (Redis lost it, or it expired after ``QUEUE_JOB_TTL``), ended without claiming the
  note, or was taken off its queue by a worker that died before starting it (RQ keeps no
  record of such a job: see :func:`_taken_and_dropped`). Notes waiting for a scheduled
  retry (``retry_at`` in the future) are left alone.

A job counts as running while its worker keeps either RQ's started-registry entry or our
liveness mark (:mod:`enrichment.worker`) fresh: a slow job is never reaped, so the reaper
cannot cause a second provider call. Right after Redis restarted, that evidence may not be
back yet, so "the job is gone" is only believed once Redis has been up longer than
``WORKER_LIVENESS_TTL``.

Every change is a compare-and-set on the note's status, job id and token, so several
reapers (or a reaper and a late worker) can run at once: each note is redelivered once.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError, ResponseError
from rq.job import Job, JobStatus

from notes.models import Note
from notes.services import deliver, transition
from notes.status import ProcessingStatus

from . import queue as delivery
from .models import EnrichmentRun, RunOutcome
from .worker import alive_key

logger = logging.getLogger(__name__)

S = ProcessingStatus
CHUNK = 500
# At most this many linear LPOS scans of a queue per reaper run (see _taken_and_dropped).
MAX_POSITION_CHECKS = 100
TAKEN_MARK = "notesite:reaper:taken:{}"
# A job in one of these states will never claim or finish its note.
ENDED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


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


@dataclass
class _JobState:
    exists: bool
    status: str | None
    alive: bool
    # Taken off its queue by a worker that never started it, seen so twice (queued jobs only).
    dropped: bool = False


def _job_states(connection, job_ids: list[str]) -> dict[str, _JobState]:
    """Status and liveness of many jobs, in a few pipelined round trips."""
    registries = {}
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(Job.key_for(job_id), "status", "origin", "enqueued_at")
            pipe.exists(Job.key_for(job_id))
            pipe.exists(alive_key(job_id))
        raw = pipe.execute()
    # RQ's own evidence: a started-registry entry whose score (expiry) is in the future.
    now_ts = timezone.now().timestamp()
    for bulk in (False, True):
        key = delivery.get_queue(bulk).started_job_registry.key
        for member in connection.zrangebyscore(key, now_ts, "+inf"):
            job_id = member.decode().rsplit(":", 1)[0]
            registries[job_id] = True
    states = {}
    waiting = {}  # job id -> (origin, enqueued_at) of jobs that say "queued", with no life
    for i, job_id in enumerate(job_ids):
        (status, origin, enqueued_at), exists, marked = raw[3 * i : 3 * i + 3]
        state = _JobState(
            exists=bool(exists),
            status=status.decode() if status else None,
            alive=bool(marked) or registries.get(job_id, False),
        )
        states[job_id] = state
        if state.exists and state.status == JobStatus.QUEUED and not state.alive and origin:
            waiting[job_id] = (origin.decode(), (enqueued_at or b"").decode())
    for job_id in _taken_and_dropped(connection, waiting):
        states[job_id].dropped = True
    return states


def _taken_and_dropped(connection, waiting: dict[str, tuple[str, str]]) -> list[str]:
    """The jobs of ``waiting`` that a worker took off their queue and then lost.

    A worker pops a job id off its queue, then marks the job started. If it dies in
    between (SIGKILL, a lost host), the job is gone from the queue but still says
    "queued", and RQ keeps no record of it anywhere: a worker on several queues pops with
    BLPOP, and a worker on one queue parks the id in an intermediate list that RQ only
    clears in its ten-minute maintenance. Nothing would ever run such a job.

    A queue is first in, first out, so a job enqueued before the job now at the head of
    its queue has left it; only those few are confirmed with LPOS (a linear scan, hence
    capped per run). A worker passes between pop and start in milliseconds, so a job is
    believed lost only when an earlier reaper run, at least ``WORKER_LIVENESS_TTL`` ago,
    found it out of its queue too.
    """
    if not waiting:
        return []
    queue_keys = {delivery.queue_name(bulk): delivery.get_queue(bulk).key for bulk in (False, True)}
    # When the job at the head of each queue was enqueued: every job that says "queued" and
    # was enqueued earlier has left the queue. An empty queue has no head: all have left it.
    # A head without a timestamp (its hash expired) tells nothing: "" is older than any.
    heads = {}
    for name, key in queue_keys.items():
        head = connection.lindex(key, 0)
        if head is None:
            heads[name] = None
        else:
            enqueued_at = connection.hget(Job.key_for(head.decode()), "enqueued_at")
            heads[name] = enqueued_at.decode() if enqueued_at else ""
    suspects = [
        job_id
        for job_id, (origin, enqueued_at) in waiting.items()
        if origin in heads and (heads[origin] is None or enqueued_at < heads[origin])
    ][:MAX_POSITION_CHECKS]
    if not suspects:
        return []
    with connection.pipeline(transaction=False) as pipe:
        for job_id in suspects:
            key = queue_keys[waiting[job_id][0]]
            pipe.lpos(key, job_id)
            pipe.get(TAKEN_MARK.format(job_id))
        raw = pipe.execute()
    now_ts = timezone.now().timestamp()
    grace = settings.WORKER_LIVENESS_TTL
    dropped = []
    with connection.pipeline(transaction=False) as pipe:
        for i, job_id in enumerate(suspects):
            position, seen_at = raw[2 * i : 2 * i + 2]
            if position is not None:
                continue
            if seen_at is None:
                pipe.set(TAKEN_MARK.format(job_id), now_ts, nx=True, ex=max(3600, 10 * grace))
            elif now_ts - float(seen_at) >= grace:
                dropped.append(job_id)
        pipe.execute()
    return dropped


def _redis_uptime(connection) -> float:
    """Seconds since Redis started. Where INFO is not allowed (some managed services),
    Redis is taken to have been up for long: STUCK_AFTER stays the backstop."""
    try:
        return float(connection.info("server").get("uptime_in_seconds", 0))
    except ResponseError:
        return float("inf")


def _lost_reason(note: dict, state: _JobState | None, *, now, trust_missing: bool) -> str | None:
    """Why the attempt in progress for this PROCESSING note is lost, or None if it may run."""
    age = (now - note["status_changed_at"]).total_seconds()
    if age > settings.ENRICHMENT_STUCK_AFTER:
        return f"processing for {int(age)} s, longer than ENRICHMENT_STUCK_AFTER"
    if state is None:  # no job id: a run outside RQ; only the age rule applies
        return None
    if state.alive:
        return None
    if not state.exists:
        return "its job vanished from Redis" if trust_missing else None
    if state.status in ENDED:
        return f"its job ended ({state.status}) without storing a result: work horse killed?"
    if state.status == JobStatus.STARTED:
        return "its worker stopped sending heartbeats (killed or lost)"
    return None


def _needs_delivery(note: dict, state: _JobState | None, now) -> bool:
    """Whether a QUEUED note's job will never claim it.

    Redelivering is always safe here, even on doubtful evidence: the old job, should it
    still run, finds a different job id on the note and does nothing.
    """
    if state is None or not state.exists:
        return True
    if state.alive:
        return False
    if state.status == JobStatus.SCHEDULED:
        # A delayed retry is moved to its queue by the scheduler process of some worker;
        # that process exits when Redis goes away and RQ restarts it only every ten
        # minutes. A retry overdue by more than a liveness period is delivered by us.
        due = note["retry_at"]
        overdue = timedelta(seconds=settings.WORKER_LIVENESS_TTL)
        return due is None or now - due > overdue
    if state.status == JobStatus.QUEUED:
        return state.dropped
    return state.status in ENDED or state.status == JobStatus.STARTED


def _reap_processing(note: dict, reason: str, report: ReapReport) -> None:
    old_job = note["job_id"]
    # The fence: only the attempt we judged lost, not a newer one that started meanwhile.
    fence = {
        "source": S.PROCESSING,
        "token": note["processing_token"],
        "match": {"job_id": old_job},
    }
    now = timezone.now()
    if note["reap_count"] >= settings.ENRICHMENT_MAX_REAPS:
        message = (
            f"Gave up after {note['reap_count']} lost attempt(s); the last one: {reason}. "
            "Reprocess the note to try again."
        )
        moved = transition(note["pk"], S.ERROR, **fence, processing_token=None, last_error=message)
        if moved:
            report.errored += 1
    else:
        new_job = delivery.new_job_id(note["pk"])
        moved = transition(
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
            deliver(note["pk"], new_job)
    if moved:
        extra = {"note_id": note["pk"], "job_id": old_job}
        logger.warning("Note %s: attempt lost (%s)", note["pk"], reason, extra=extra)
        report.reasons.append(f"note {note['pk']}: {reason}")
        EnrichmentRun.objects.filter(
            note_id=note["pk"], job_id=old_job, outcome=RunOutcome.RUNNING
        ).update(
            outcome=RunOutcome.ABANDONED,
            finished_at=now,
            error_kind="abandoned",
            error_message=reason,
        )


def _deliver_queued(note: dict, report: ReapReport) -> None:
    new_job = delivery.new_job_id(note["pk"])
    if not Note.objects.filter(
        pk=note["pk"], processing_status=S.QUEUED, job_id=note["job_id"]
    ).update(job_id=new_job):
        return  # someone else (another reaper, a person) got there first
    if deliver(note["pk"], new_job):
        report.delivered += 1


def _chunks(queryset):
    rows = []
    for row in queryset.iterator(chunk_size=CHUNK):
        rows.append(row)
        if len(rows) >= CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def reap() -> ReapReport:
    """Find notes nothing works on and deliver them again (see the module docstring).

    Safe to run from several processes at once. Raises :class:`redis.exceptions.RedisError`
    if Redis cannot be reached at all (nothing can be delivered then; the next run will).
    """
    report = ReapReport()
    connection = delivery.get_connection()
    trust_missing = _redis_uptime(connection) >= settings.WORKER_LIVENESS_TTL
    now = timezone.now()
    fields = ("pk", "job_id", "processing_token", "status_changed_at", "reap_count")

    processing = Note.objects.filter(processing_status=S.PROCESSING).values(*fields).order_by("pk")
    for rows in _chunks(processing):
        states = _job_states(connection, [r["job_id"] for r in rows if r["job_id"]])
        for note in rows:
            reason = _lost_reason(
                note, states.get(note["job_id"]), now=now, trust_missing=trust_missing
            )
            if reason:
                _reap_processing(note, reason, report)

    queued = (
        Note.objects.filter(processing_status=S.QUEUED)
        .exclude(retry_at__gt=now)
        # A note queued a moment ago may still be inside its transaction's on-commit hook.
        .filter(status_changed_at__lt=now - timedelta(seconds=2))
        .values(*fields, "retry_at")
        .order_by("pk")
    )
    for rows in _chunks(queued):
        states = _job_states(connection, [r["job_id"] for r in rows if r["job_id"]])
        for note in rows:
            if _needs_delivery(note, states.get(note["job_id"]), now):
                _deliver_queued(note, report)
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
