"""The only place that talks to RQ when putting note jobs on a queue.

Redis is a delivery mechanism, the database is the source of truth: a note is QUEUED in
the database first, with the id of the job that is meant to process it, and the job is
put on the queue after the transaction commits. If that fails (Redis down), the note stays
QUEUED and `enqueue_pending` (or the reaper) delivers it later under a new job id.
"""

import logging
import uuid
import zlib
from collections.abc import Iterable
from datetime import timedelta

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job
from rq.utils import now as rq_now

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
    """Enqueue many (note_id, job_id) pairs in one Redis round trip. Returns how many.

    The jobs are the ones :func:`dispatch` makes, written without building an RQ ``Job``
    per note (see :class:`_JobWriter`): that object round trip, and redis-py packing six
    commands of up to forty arguments per job, were most of the cost of a bulk requeue
    (docs/performance.md).

    Not a MULTI/EXEC transaction: that made Redis answer every command twice (QUEUED,
    then the result). Atomicity is not needed: if the round trip fails part-way, the caller
    forgets these job ids, so any job that did arrive is a stale delivery that the claim
    ignores, and enqueue_pending sends fresh ones.
    """
    pairs = list(pairs)
    if not pairs:
        return 0
    queue = get_queue(bulk)
    try:
        writer = _JobWriter(queue, *pairs[0])
        if writer.faithful:
            writer.write(pairs)
        else:
            with queue.connection.pipeline(transaction=False) as pipe:
                queue.enqueue_many(
                    [
                        Queue.prepare_data(
                            JOB_FUNC, args=(note_id,), **_job_options(note_id, job_id)
                        )
                        for note_id, job_id in pairs
                    ],
                    pipeline=pipe,
                )
                pipe.execute()
    except RedisError as exc:
        logger.error(
            "Could not enqueue %d notes: %s; they stay queued for enqueue_pending.",
            len(pairs),
            type(exc).__name__,
        )
        return 0
    return len(pairs)


_VARYING = ("data", "meta", "description")


class _JobWriter:
    """Writes note jobs exactly as ``Queue.enqueue_call`` does, for many notes at once.

    RQ stores a job as one Redis hash. For note jobs only three of its fields depend on
    the note (the pickled call, the meta and the description); every other field (function
    options, TTLs, origin, status, timestamps) is the same for every note of one enqueue.
    So a real ``Job`` is built once, for the first note, through the very code
    ``enqueue_call`` runs (``Queue.create_job``, ``Job.to_dict``), and its hash is reused
    with those three fields replaced: the constant part is encoded in the Redis protocol
    once, and each note adds its key and three fields to it.

    The commands are those of ``enqueue_call``: HSET of the hash, EXPIRE at the job's
    TTL, RPUSH of the id onto the queue, SADD of the queue to RQ's set of queues. Left
    out: a separate HSET of the status (the hash carries it) and the EXPIRE of the job's
    dependents and dependencies keys (they do not exist for a job without dependencies).
    The ids are pushed with one RPUSH after every hash is written, so a worker never pops
    an id whose hash is missing.

    ``faithful`` is False if the three fields computed here differ from RQ's own for the
    first note (a future RQ serialising differently): callers then use RQ's enqueue.
    """

    def __init__(self, queue: Queue, note_id: int, job_id: str):
        self.queue = queue
        self.encode = queue.connection.get_encoder().encode
        job = queue.create_job(JOB_FUNC, args=(note_id,), **_job_options(note_id, job_id))
        # What enqueueing adds to a created job before saving it (Queue._prepare_for_queue);
        # origin, timeout and status are already set by create_job.
        job.enqueued_at = rq_now()
        self.ttl = job.ttl if job.ttl and job.ttl > 0 else None
        fields = job.to_dict()
        self.faithful = self._varying(note_id, job_id) == {k: fields.get(k) for k in _VARYING}
        self.hset = b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * len(fields))
        self.constant = b"".join(
            self._arg(name) + self._arg(value)
            for name, value in fields.items()
            if name not in _VARYING
        )
        self.names = [self._arg(name) for name in _VARYING]

    def _arg(self, value) -> bytes:
        """One command argument in the Redis protocol, encoded as redis-py would."""
        value = self.encode(value)
        return b"$%d\r\n%s\r\n" % (len(value), value)

    def _varying(self, note_id: int, job_id: str) -> dict:
        options = _job_options(note_id, job_id)
        serializer = self.queue.serializer
        return {
            # Job.data pickles (function, instance, args, kwargs); to_dict compresses it.
            "data": zlib.compress(serializer.dumps((JOB_FUNC, None, (note_id,), {}))),
            "meta": serializer.dumps(options["meta"]),
            "description": options["description"],
        }

    def write(self, pairs: list[tuple[int, str]]) -> None:
        queue = self.queue
        arg = self._arg
        key_for = queue.job_class.key_for
        expire = b"*3\r\n$6\r\nEXPIRE\r\n"
        ttl = arg(self.ttl) if self.ttl else None
        out = [b"*3\r\n$4\r\nSADD\r\n", arg(queue.redis_queues_keys), arg(queue.key)]
        for note_id, job_id in pairs:
            key = arg(key_for(job_id))
            out += [self.hset, key, self.constant]
            for name, value in zip(
                self.names, self._varying(note_id, job_id).values(), strict=True
            ):
                out += [name, arg(value)]
            if ttl:
                out += [expire, key, ttl]
        out.append(b"*%d\r\n$5\r\nRPUSH\r\n" % (2 + len(pairs)))
        out += [arg(queue.key), *(arg(job_id) for _, job_id in pairs)]
        replies = 2 + len(pairs) * (2 if ttl else 1)
        pool = queue.connection.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command([b"".join(out)])
            for _ in range(replies):
                connection.read_response()  # raises on an error reply
        except BaseException:
            # Replies may be left unread: the connection must not go back to the pool.
            connection.disconnect()
            raise
        finally:
            pool.release(connection)


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
