"""The RQ worker class every `rqworker` runs (``RQ["WORKER_CLASS"]`` in settings).

It adds four things to RQ's forking worker. Only the first touches the database in the
worker's main process, and closes its connection before the first fork (a connection left
open there would leak into every forked horse):

* **Preloading.** Whatever a work horse computes dies with it, so with a plain forking
  worker every job paid again for work that never changes: importing the pipeline,
  pydantic's schema and the enricher's client library; looking up PostgreSQL type ids for
  django.contrib.postgres; reading redis-py's version from the package metadata for its
  new Redis connection; building the ORM's lazily cached model and query machinery. That
  cost several times the job itself (docs/performance.md). :func:`preload` does it once,
  in the worker, before the first fork, and every horse inherits the result.

* **Liveness marks.** While a job runs, the main process keeps a short-lived Redis key
  ``notesite:alive:<job id>`` fresh with its heartbeat. The reaper (:mod:`enrichment.reaper`)
  treats a job as running while that key or RQ's own started-registry entry is fresh, so
  a slow job is never reaped, and a job whose worker died is found within
  ``WORKER_LIVENESS_TTL`` seconds. The work horse dies with its worker (``PR_SET_PDEATHSIG``):
  "worker dead" therefore really means "nobody is calling the provider for this note".
* **Graceful shutdown.** SIGTERM (a deploy) lets the running job finish for
  ``ENRICHMENT_SHUTDOWN_GRACE`` seconds; then :class:`rq.exceptions.ShutDownImminentException`
  is raised inside the job and the pipeline puts the note back to QUEUED. This is RQ's
  ``HerokuWorker`` protocol (SIGRTMIN to the horse) with our grace period. A second
  SIGTERM/SIGINT is a cold shutdown: the horse is killed and the reaper recovers the note.
* **Redis outages.** Heartbeats, suspension checks and bookkeeping that fail because
  Redis is unreachable are logged instead of ending the worker; the dequeue loop waits
  with backoff until Redis answers again.
"""

import contextlib
import ctypes
import functools
import logging
import signal
import uuid

import redis.utils
from django.conf import settings
from django.db import connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.queue import Queue
from rq.worker import HerokuWorker

logger = logging.getLogger(__name__)

ALIVE_KEY = "notesite:alive:{}"
_PR_SET_PDEATHSIG = 1
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def alive_key(job_id: str) -> str:
    """The Redis key that says a worker is running ``job_id`` right now."""
    return ALIVE_KEY.format(job_id)


def heartbeat_interval() -> int:
    """Seconds between two heartbeats of a busy worker: a third of the liveness TTL."""
    return max(1, settings.WORKER_LIVENESS_TTL // 3)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent (the worker) dies.

    Without it a horse outlives a SIGKILLed worker, keeps calling the provider, and the
    reaper (which sees a dead worker) would start a second, paid run of the same note.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _with_maintenance_queue(queues):
    """The given queues, preceded by the maintenance queue (the reaper's).

    Only for a worker that is about to work (it has queues); RQ also builds workers with
    no queues to describe the ones registered in Redis.
    """
    queues = [queues] if isinstance(queues, str | Queue) else list(queues)
    if not queues:
        return queues
    names = [q if isinstance(q, str) else q.name for q in queues]
    if settings.ENRICHMENT_MAINTENANCE_QUEUE in names:
        return queues
    first = queues[0]
    if isinstance(first, str):
        return [settings.ENRICHMENT_MAINTENANCE_QUEUE, *queues]
    maintenance = type(first)(
        settings.ENRICHMENT_MAINTENANCE_QUEUE,
        connection=first.connection,
        job_class=first.job_class,
        serializer=first.serializer,
    )
    return [maintenance, *queues]


def preload() -> None:
    """Warm, in the worker's main process, what every job would otherwise redo."""
    from enrichment import jobs  # noqa: F401  (imported for its side effect)
    from enrichment.enrichers import get_enricher

    try:
        # Instantiating resolves and imports the backend module (e.g. the openai client).
        get_enricher()
    except Exception:  # a misconfigured backend must fail the job, not the worker start
        logger.exception("Could not preload the enricher; jobs will report the error")

    # redis-py resolves its own version from the package metadata (a scan of
    # site-packages, ~10 ms) for every new connection, and each horse makes a new one.
    if not hasattr(redis.utils.get_lib_version, "cache_info"):
        redis.utils.get_lib_version = functools.cache(redis.utils.get_lib_version)
    redis.utils.get_lib_version()

    # One connection fills process-wide caches that horses inherit: contrib.postgres' type
    # ids, and the ORM's lazily built model metadata and query machinery (a third of the
    # Python work of a job done cold). It is closed at once: a socket must never be
    # shared across a fork.
    try:
        _rehearse_queries()
    except Exception:  # the database may be down at start; jobs will retry it
        logger.warning("Database unreachable while preloading the worker", exc_info=True)
    finally:
        for connection in connections.all(initialized_only=True):
            connection.close()


def _rehearse_queries() -> None:
    """Run the pipeline's statement shapes against a note id that never exists (ids
    start at 1), so nothing is changed."""
    from django.db.models import F
    from django.utils import timezone

    from notes.models import Note
    from notes.services import transition
    from notes.status import ProcessingStatus as S

    from .models import EnrichmentRun

    token = uuid.uuid4()
    transition(
        0,
        S.PROCESSING,
        source=S.QUEUED,
        match={"job_id": ""},
        processing_token=token,
        attempts=F("attempts") + 1,
        retry_at=None,
    )
    Note.objects.filter(pk=0, processing_token=token).values("content").first()
    transition(0, S.COMPLETED, source=S.PROCESSING, token=token, processing_token=None)
    EnrichmentRun.objects.filter(pk=0).update(finished_at=timezone.now())


class NoteWorker(HerokuWorker):
    """RQ's forking worker with liveness marks, a shutdown grace period and Redis-outage
    tolerance. See the module docstring."""

    # RQ backs off up to 60 s between reconnection attempts; notes wait for that long
    # after Redis is back. 10 s keeps an outage's tail short at negligible cost.
    max_connection_wait_time = 10.0

    def __init__(self, queues, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", heartbeat_interval())
        super().__init__(_with_maintenance_queue(queues), *args, **kwargs)
        self.imminent_shutdown_delay = settings.ENRICHMENT_SHUTDOWN_GRACE

    def work(self, *args, **kwargs):
        # Only a worker about to work preloads: RQ also builds worker objects just to
        # describe the workers registered in Redis (health view, dashboard).
        preload()
        return super().work(*args, **kwargs)

    # --- liveness -----------------------------------------------------------------

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """RQ's started-registry TTL, with our liveness margin instead of its fixed 60 s."""
        interval = self.job_monitoring_interval
        margin = max(1, settings.WORKER_LIVENESS_TTL - interval)
        if job.timeout and job.timeout > 0:
            return int(max(1, min(job.timeout - working_time, interval))) + margin
        return interval + margin

    def _mark_alive(self, job_id: str) -> None:
        self.connection.set(alive_key(job_id), self.name, ex=settings.WORKER_LIVENESS_TTL)

    def prepare_execution(self, job):
        execution = super().prepare_execution(job)
        # Before the fork: the mark exists before the horse can claim the note.
        self._mark_alive(job.id)
        return execution

    def maintain_heartbeats(self, job, execution):
        try:
            super().maintain_heartbeats(job, execution)
        except REDIS_DOWN as exc:
            logger.warning("Worker %s: heartbeat failed, Redis unreachable: %s", self.name, exc)
            return
        # Also after a Redis restart that lost the mark: it comes back with the next beat.
        with contextlib.suppress(*REDIS_DOWN):
            self._mark_alive(job.id)

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN as exc:
            if self.horse_pid:
                raise
            # The horse has finished; only RQ's bookkeeping of the outcome failed. The
            # database already holds the note's outcome, so the worker carries on.
            logger.warning(
                "Worker %s: could not record the end of job %s, Redis unreachable: %s",
                self.name,
                job.id,
                exc,
            )
        finally:
            with contextlib.suppress(*REDIS_DOWN):
                self.connection.delete(alive_key(job.id))

    # --- Redis outages ------------------------------------------------------------

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        try:
            return super().heartbeat(timeout, pipeline)
        except REDIS_DOWN as exc:
            logger.warning("Worker %s: heartbeat failed, Redis unreachable: %s", self.name, exc)

    def set_state(self, state, pipeline=None):
        if pipeline is not None:
            return super().set_state(state, pipeline)
        try:
            return super().set_state(state, pipeline)
        except REDIS_DOWN:
            self._state = state

    def check_for_suspension(self, burst: bool):
        try:
            return super().check_for_suspension(burst)
        except REDIS_DOWN:
            # Unknown while Redis is down; the dequeue that follows waits for Redis anyway.
            return None

    def run_maintenance_tasks(self):
        try:
            return super().run_maintenance_tasks()
        except REDIS_DOWN as exc:
            logger.warning("Worker %s: maintenance skipped, Redis unreachable: %s", self.name, exc)

    # --- the work horse -----------------------------------------------------------

    def setup_work_horse_signals(self):
        super().setup_work_horse_signals()
        _die_with_parent()
