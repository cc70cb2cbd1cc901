"""The only place that talks to RQ when putting note jobs on a queue.

Redis is a delivery mechanism, the database is the source of truth: a note is QUEUED in
the database first, with the id of the job that is meant to process it, and the job is
put on the queue after the transaction commits. If that fails (Redis down), the note stays
QUEUED and `enqueue_pending` (or the reaper) delivers it later under a new job id.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job

logger = logging.getLogger(__name__)

JOB_FUNC = "enrichment.jobs.process_note_job"


def new_job_id(note_id: int) -> str:
    """A fresh id per delivery: RQ does not deduplicate equal ids, the database does."""
    return f"note-{note_id}-{uuid.uuid4().hex[:16]}"


def queue_name(bulk: bool = False) -> str:
    return settings.ENRICHMENT_BULK_QUEUE if bulk else settings.ENRICHMENT_QUEUE


def get_queue(bulk: bool = False) -> Queue:
    return django_rq.get_queue(queue_name(bulk))


def get_connection():
    return get_queue().connection


def _job_options(note_id: int, job_id: str) -> dict:
    return {
        "job_id": job_id,
        "timeout": settings.QUEUE_JOB_TIMEOUT,
        # A job that waits longer than this in the queue is dropped by RQ; the reaper
        # requeues its note, so nothing is lost.
        "ttl": settings.QUEUE_JOB_TTL,
        "result_ttl": 600,
        "failure_ttl": 7 * 24 * 3600,
        "meta": {"note_id": note_id},
        "description": f"enrich note {note_id}",
    }


def dispatch(note_id: int, job_id: str, *, bulk: bool = False, delay: float | None = None) -> bool:
    """Put the job for ``note_id`` on the queue. Returns False (and logs) if Redis failed.

    Never raises for Redis errors: the note is already QUEUED in the database, which is
    what guarantees it will be processed.
    """
    queue = get_queue(bulk)
    try:
        options = _job_options(note_id, job_id)
        if delay:
            # enqueue_in() spells the timeout option differently from enqueue_call().
            options["job_timeout"] = options.pop("timeout")
            queue.enqueue_in(timedelta(seconds=delay), JOB_FUNC, note_id, **options)
        else:
            queue.enqueue_call(JOB_FUNC, args=(note_id,), **options)
    except RedisError as exc:
        logger.error(
            "Could not enqueue note %s: %s; it stays queued for enqueue_pending or the reaper.",
            note_id,
            type(exc).__name__,
            extra={"note_id": note_id, "job_id": job_id},
        )
        return False
    logger.info(
        "Enqueued note %s on %s",
        note_id,
        queue.name,
        extra={"note_id": note_id, "job_id": job_id},
    )
    return True


def dispatch_many(pairs: Iterable[tuple[int, str]], *, bulk: bool = False) -> int:
    """Enqueue many (note_id, job_id) pairs in one Redis pipeline. Returns how many."""
    pairs = list(pairs)
    if not pairs:
        return 0
    queue = get_queue(bulk)
    data = [
        Queue.prepare_data(JOB_FUNC, args=(note_id,), **_job_options(note_id, job_id))
        for note_id, job_id in pairs
    ]
    try:
        # Not a MULTI/EXEC transaction: that made Redis answer every command twice (QUEUED,
        # then the result), a quarter of the cost. Atomicity is not needed: if the pipeline
        # fails part-way, the caller forgets these job ids, so any job that did arrive is a
        # stale delivery that the claim ignores, and enqueue_pending sends fresh ones.
        with queue.connection.pipeline(transaction=False) as pipe:
            queue.enqueue_many(data, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        logger.error(
            "Could not enqueue %d notes: %s; they stay queued for enqueue_pending.",
            len(pairs),
            type(exc).__name__,
        )
        return 0
    return len(pairs)


def existing_job_ids(job_ids: list[str]) -> set[str]:
    """Which of these job ids still exist in Redis (one pipelined round trip)."""
    if not job_ids:
        return set()
    connection = get_connection()
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(Job.key_for(job_id))
        found = pipe.execute()
    return {job_id for job_id, present in zip(job_ids, found, strict=True) if present}
