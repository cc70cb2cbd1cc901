"""What the pipeline is doing right now, checked quickly enough for a probe.

:func:`collect` runs the checks and returns a report::

    {"status": "ok" | "degraded" | "down",
     "checks": {"database": {...}, "redis": {...}, "queue": {...}, "bulk_queue": {...},
                "workers": {...}, "notes": {...}, "backend": {...}}}

Each check has a ``status`` and, for trusted callers, its figures; :func:`public_report`
keeps only the statuses. ``down`` (HTTP 503) means the database cannot be reached: the
site cannot serve anything. Redis unreachable is ``degraded`` (HTTP 200) on purpose: people
can still write notes (they are saved QUEUED and delivered when Redis is back), so a load
balancer must not take the web processes out of rotation for it; the ``redis`` check itself
says ``down``. Everything else that is wrong (no worker, stuck notes, an unconfigured
backend) is ``degraded`` too.

Why threads: a hung server must not hang a probe. Redis gets a dedicated client with
sub-second socket timeouts, PostgreSQL a statement timeout, but libpq cannot connect with
a timeout under two seconds; so the database part and the Redis part run in a small,
bounded thread pool, and whatever is not finished by ``HEALTH_CHECK_TIMEOUT`` is reported
as down. The pool's size bounds how many threads a hung server can hold.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from notes.models import Note
from notes.status import ProcessingStatus

logger = logging.getLogger(__name__)

S = ProcessingStatus
OK, DEGRADED, DOWN = "ok", "degraded", "down"

# Two checks run at once; four threads leave room for two hung ones and a new probe.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health-check")


# Options in the URL win over keyword arguments in redis-py, and REDIS_URL carries the
# (long) REDIS_TIMEOUT: drop them so that the monitoring timeouts apply.
_URL_TIMEOUT_OPTIONS = {"socket_timeout", "socket_connect_timeout", "health_check_interval"}


@lru_cache(maxsize=4)
def _redis_client(url: str, timeout: float) -> redis.Redis:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _URL_TIMEOUT_OPTIONS]
    # No retries: a retry with backoff would multiply the timeout.
    return redis.Redis.from_url(
        urlunsplit(parts._replace(query=urlencode(query))),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def _sentinel_client(timeout: float) -> redis.Redis:
    """The current master, found through the Sentinels the queues use (settings' Sentinel
    block), with the monitoring timeouts instead of the queues' long ones."""
    config = settings.RQ_QUEUES[settings.ENRICHMENT_QUEUE]
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    master_options = {
        key: value
        for key, value in config.get("CONNECTION_KWARGS", {}).items()
        if key not in _URL_TIMEOUT_OPTIONS
    }
    sentinel = Sentinel(
        config["SENTINELS"], sentinel_kwargs={**config.get("SENTINEL_KWARGS", {}), **timeouts}
    )
    return sentinel.master_for(
        config["MASTER_NAME"],
        db=config.get("DB", 0),
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        **timeouts,
        **master_options,
    )


def redis_client() -> redis.Redis:
    """A Redis client for monitoring only: short timeouts, no retries."""
    if settings.REDIS_SENTINELS:
        return _sentinel_client(settings.HEALTH_REDIS_TIMEOUT)
    return _redis_client(settings.REDIS_URL, settings.HEALTH_REDIS_TIMEOUT)


def _age_seconds(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return round(max((now - moment).total_seconds(), 0.0), 1)


# --- Database ----------------------------------------------------------------


def stuck_filter(now: datetime | None = None) -> Q:
    """Notes that are processing or queued far longer than they should be.

    PROCESSING longer than ``ENRICHMENT_STUCK_AFTER`` (the job timeout plus a margin):
    its worker died or hangs. QUEUED longer than ``ENRICHMENT_QUEUED_STUCK_AFTER`` while
    not waiting for a scheduled retry: nothing is delivering it.
    """
    now = now or timezone.now()
    processing = Q(
        processing_status=S.PROCESSING,
        status_changed_at__lt=now - timedelta(seconds=settings.ENRICHMENT_STUCK_AFTER),
    )
    queued = Q(
        processing_status=S.QUEUED,
        status_changed_at__lt=now - timedelta(seconds=settings.ENRICHMENT_QUEUED_STUCK_AFTER),
    ) & (Q(retry_at__isnull=True) | Q(retry_at__lte=now))
    return processing | queued


EXACT_COUNT_LIMIT = 10_000


def status_counts() -> dict[str, int]:
    """Notes per status, in one statement whose cost does not grow with the table.

    Counting every note of a status reads every entry of the status index: half a second
    at a million notes, on every health probe and metrics scrape. Each status is counted
    exactly up to ``EXACT_COUNT_LIMIT`` (a bounded index scan) and, beyond, estimated from
    the table's statistics (its row count times the status's share), as the admin's
    paginator (notes/pagination.py) estimates a large page count.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.status,
                   (SELECT count(*) FROM (
                       SELECT 1 FROM notes_note WHERE processing_status = s.status LIMIT %s
                   ) AS bounded),
                   (SELECT c.reltuples * st.most_common_freqs[
                               array_position(st.most_common_vals::text::text[], s.status)]
                      FROM pg_class c, pg_stats st
                     WHERE c.oid = 'notes_note'::regclass
                       AND st.schemaname = current_schema() AND st.tablename = 'notes_note'
                       AND st.attname = 'processing_status')
              FROM unnest(%s::text[]) AS s(status)
            """,
            [EXACT_COUNT_LIMIT + 1, list(S.values)],
        )
        rows = cursor.fetchall()
    return {
        status: exact if exact <= EXACT_COUNT_LIMIT else max(exact, round(estimate or 0))
        for status, exact, estimate in rows
    }


def note_figures(now: datetime | None = None) -> dict:
    """Counts per status (:func:`status_counts`), stuck notes and the age of the oldest
    queued note."""
    now = now or timezone.now()
    counts = status_counts()
    stuck = Note.objects.filter(stuck_filter(now)).count()
    oldest = (
        Note.objects.filter(processing_status=S.QUEUED)
        .order_by("status_changed_at")
        .values_list("status_changed_at", flat=True)
        .first()
    )
    return {
        "counts": counts,
        "stuck": stuck,
        "oldest_queued_age_seconds": _age_seconds(oldest, now),
    }


def _database_checks() -> dict:
    started = time.monotonic()
    try:
        with transaction.atomic():
            # Milliseconds; LOCAL ends with this transaction, pooled connections keep
            # their normal (unlimited) timeout for real work.
            timeout_ms = max(int(settings.HEALTH_CHECK_TIMEOUT * 1000), 100)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [timeout_ms])
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            latency = round((time.monotonic() - started) * 1000, 1)
            notes = note_figures()
    except DatabaseError as exc:
        return {
            "database": {"status": DOWN, "error": type(exc).__name__},
            "notes": {"status": DOWN},
        }
    finally:
        # This runs in a pool thread: close its connection rather than leak one per thread.
        connections.close_all()
    return {
        "database": {"status": OK, "latency_ms": latency},
        "notes": {"status": DEGRADED if notes["stuck"] else OK, **notes},
    }


# --- Redis -------------------------------------------------------------------


def queue_figures(conn: redis.Redis, name: str, now: datetime | None = None) -> dict:
    """Job counts of one RQ queue and the age of its oldest waiting job."""
    now = now or datetime.now(UTC)
    queue = Queue(name, connection=conn)
    oldest_age = None
    first = queue.get_job_ids(0, 1)
    if first:
        try:
            job = Job.fetch(first[0], connection=conn)
        except NoSuchJobError:  # expired (QUEUE_JOB_TTL) but still listed
            pass
        else:
            oldest_age = _age_seconds(job.enqueued_at or job.created_at, now)
    return {
        "name": name,
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "deferred": queue.deferred_job_registry.count,
        "oldest_queued_age_seconds": oldest_age,
    }


def worker_figures(conn: redis.Redis, now: datetime | None = None) -> dict:
    """Workers listening on the enrichment queues: count, busy, last heartbeat."""
    now = now or datetime.now(UTC)
    ours = {settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE}
    workers = [w for w in Worker.all(connection=conn) if ours & set(w.queue_names())]
    heartbeats = [w.last_heartbeat for w in workers if w.last_heartbeat]
    last = max(heartbeats) if heartbeats else None
    return {
        "count": len(workers),
        "busy": sum(1 for w in workers if w.get_state() == "busy"),
        "queues_covered": sorted(ours & {q for w in workers for q in w.queue_names()}),
        "last_heartbeat_age_seconds": _age_seconds(last, now),
    }


def _redis_checks() -> dict:
    conn = redis_client()
    started = time.monotonic()
    try:
        conn.ping()
        latency = round((time.monotonic() - started) * 1000, 1)
        now = datetime.now(UTC)
        main = queue_figures(conn, settings.ENRICHMENT_QUEUE, now)
        bulk = queue_figures(conn, settings.ENRICHMENT_BULK_QUEUE, now)
        workers = worker_figures(conn, now)
    except (RedisError, OSError) as exc:
        return {
            "redis": {"status": DOWN, "error": type(exc).__name__},
            "queue": {"status": DOWN},
            "bulk_queue": {"status": DOWN},
            "workers": {"status": DOWN},
        }
    backlog = main["queued"] + bulk["queued"]
    stale = (main["oldest_queued_age_seconds"] or 0) > settings.ENRICHMENT_QUEUED_STUCK_AFTER
    if workers["count"] == 0:
        worker_status = DEGRADED
        workers["problem"] = (
            f"no worker is running; {backlog} job(s) waiting"
            if backlog
            else "no worker is running; new notes will wait"
        )
    else:
        worker_status = OK
    return {
        "redis": {"status": OK, "latency_ms": latency},
        "queue": {"status": DEGRADED if stale else OK, **main},
        "bulk_queue": {"status": OK, **bulk},
        "workers": {"status": worker_status, **workers},
    }


# --- Enrichment backend ------------------------------------------------------


def backend_check() -> dict:
    """Is the configured enrichment backend usable? Never contacts the provider."""
    backend = settings.ENRICHMENT_BACKEND
    if backend == "local":
        return {"status": OK, "backend": backend, "configured": True}
    if backend == "openai":
        from enrichment.enrichers.openai import configuration_problems

        problems = configuration_problems()
    else:
        try:
            import_string(backend)
            problems = []
        except ImportError:
            problems = [f"cannot import {backend}"]
    check = {
        "status": DEGRADED if problems else OK,
        "backend": backend,
        "configured": not problems,
        "problems": [str(p) for p in problems],
    }
    if backend == "openai" and not problems:
        check["endpoint"] = endpoint_figures()
    return check


def endpoint_figures() -> dict:
    """What the workers learned about the LLM endpoint (from Redis, not the provider):
    the server kind, its context size and the output mode (schema dialect) in use."""
    from . import limits, llm_client

    endpoint = limits.endpoint_id(llm_client.endpoint_url(), settings.OPENAI_MODEL)
    try:
        facts = limits.profile(endpoint)
    except RedisError:
        return {"learned": False}
    return {
        "learned": bool(facts),
        "server": facts.get("server") or "unknown",
        "context_tokens": int(facts.get("context") or 0) or None,
        "schema_dialect": facts.get("mode") or "not yet used",
    }


# --- The report --------------------------------------------------------------


def _run_with_deadline(parts, deadline: float) -> dict:
    futures = {name: (_pool.submit(func), fallback) for name, (func, fallback) in parts.items()}
    checks = {}
    for _name, (future, fallback) in futures.items():
        try:
            checks.update(future.result(timeout=max(deadline - time.monotonic(), 0)))
        except FutureTimeout:
            # Not started yet (every pool thread is stuck on a hung server): drop it, so
            # repeated probes during an outage do not pile up work for later.
            future.cancel()
            checks.update({key: {"status": DOWN, "error": "timeout"} for key in fallback})
        except Exception as exc:  # a bug in a check must not turn the probe into a 500
            logger.exception("Health check failed unexpectedly")
            checks.update({key: {"status": DOWN, "error": type(exc).__name__} for key in fallback})
    return checks


def collect() -> dict:
    """Run every check within ``HEALTH_CHECK_TIMEOUT`` seconds and return the report."""
    deadline = time.monotonic() + settings.HEALTH_CHECK_TIMEOUT
    checks = _run_with_deadline(
        {
            "database": (_database_checks, ("database", "notes")),
            "redis": (_redis_checks, ("redis", "queue", "bulk_queue", "workers")),
        },
        deadline,
    )
    checks["backend"] = backend_check()
    order = ("database", "redis", "queue", "bulk_queue", "workers", "notes", "backend")
    checks = {key: checks[key] for key in order}
    if checks["database"]["status"] == DOWN:
        overall = DOWN
    else:
        overall = OK if all(c["status"] == OK for c in checks.values()) else DEGRADED
    return {"status": overall, "checks": checks}


def public_report(report: dict) -> dict:
    """The report without figures or error names: what anonymous callers may see."""
    return {
        "status": report["status"],
        "checks": {name: {"status": check["status"]} for name, check in report["checks"].items()},
    }
