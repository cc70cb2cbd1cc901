"""Putting note jobs on RQ's queues, through RQ's public API only.

Redis only delivers; the database is the source of truth. A note is QUEUED in the database
first, with the id of the job meant to process it (or with no job id, waiting for the
feeder), and the job reaches Redis after the transaction commits. A job that never
arrives is found by the reaper (:mod:`enrichment.reaper`), which delivers the note again.

The job function is named by its dotted path, so this module, like the rest of ``notes``,
imports nothing from ``enrichment``: the enrichment app reads and writes notes, never the
other way round.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq import Queue

logger = logging.getLogger(__name__)

JOB_FUNC = "enrichment.jobs.process_note_job"
JOB_PREFIX = "note-"


def new_job_id(note_id: int) -> str:
    """A fresh id per delivery: RQ does not deduplicate equal ids, the database does."""
    return f"{JOB_PREFIX}{note_id}-{uuid.uuid4().hex[:16]}"


def get_queue(bulk: bool = False) -> Queue:
    return django_rq.get_queue(
        settings.ENRICHMENT_BULK_QUEUE if bulk else settings.ENRICHMENT_QUEUE
    )


def get_connection():
    return get_queue().connection


def job_options(note_id: int, job_id: str) -> dict:
    """A note job's options, as ``Queue.prepare_data`` names them."""
    return {
        "job_id": job_id,
        "timeout": settings.QUEUE_JOB_TIMEOUT,
        # A job that waits longer than this in the queue is dropped by RQ; the reaper
        # delivers its note again, so nothing is lost.
        "ttl": settings.QUEUE_JOB_TTL,
        "result_ttl": 600,
        "failure_ttl": 7 * 24 * 3600,
        "meta": {"note_id": note_id},
        "description": f"enrich note {note_id}",
    }


def dispatch(note_id: int, job_id: str, *, bulk: bool = False, delay: float | None = None) -> bool:
    """Put the job for ``note_id`` on its queue (after ``delay`` seconds if given).

    Returns False (and logs) if Redis refused it; never raises for Redis errors: the note
    is QUEUED in the database, which is what guarantees it is processed.
    """
    queue = get_queue(bulk)
    extra = {"note_id": note_id, "job_id": job_id}
    options = job_options(note_id, job_id)
    # enqueue() and enqueue_in() spell the timeout option differently from prepare_data().
    options["job_timeout"] = options.pop("timeout")
    try:
        if delay:
            queue.enqueue_in(timedelta(seconds=delay), JOB_FUNC, note_id, **options)
        else:
            queue.enqueue(JOB_FUNC, note_id, **options)
    except RedisError as exc:
        logger.error("Could not enqueue note %s: %s", note_id, type(exc).__name__, extra=extra)
        return False
    logger.info("Enqueued note %s on %s", note_id, queue.name, extra=extra)
    return True


def dispatch_many(
    pairs: Iterable[tuple[int, str]], *, bulk: bool = True, then: str | None = None
) -> bool:
    """Enqueue many (note id, job id) pairs with ``Queue.enqueue_many`` in one pipeline,
    followed by a call of the function ``then`` (a dotted path) if given.

    Returns False if Redis refused them; the caller then forgets those job ids.
    """
    queue = get_queue(bulk)
    jobs = [
        Queue.prepare_data(JOB_FUNC, args=(note_id,), **job_options(note_id, job_id))
        for note_id, job_id in pairs
    ]
    if not jobs:
        return True
    if then:
        jobs.append(
            Queue.prepare_data(then, timeout=300, ttl=settings.QUEUE_JOB_TTL, result_ttl=60)
        )
    try:
        with queue.connection.pipeline() as pipe:
            queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        logger.error("Could not enqueue %d notes: %s", len(jobs), type(exc).__name__)
        return False
    return True
