"""The RQ worker classes (``RQ["WORKER_CLASS"]`` in settings, chosen by ``WORKER_ISOLATION``).

:class:`NoteWorker`, the default, runs each job in the worker process itself, on a
database connection it keeps between jobs. :class:`IsolatedNoteWorker` forks a work horse
per job (RQ's classic model), for deployments that want every job in a fresh process.
Both give the same guarantees; the benchmark (docs/performance.md) measured the forking
one at a fifth of the throughput, because every horse pays for a fork, a new PostgreSQL
connection and cold caches.

What both add to RQ:

* **Preloading.** :func:`preload` imports the job and the enricher, caches the redis-py
  version lookup and rehearses the pipeline's statements once, at start, so that the first
  job (and, for the forking class, every horse) does not pay for it. It closes its
  database connection: a socket must never be shared across a fork.
* **Liveness marks.** While a job runs, the worker keeps a short-lived Redis key
  ``notesite:alive:<job id>`` fresh with its heartbeat. The reaper (:mod:`enrichment.reaper`)
  treats a job as running while that key or RQ's own started-registry entry is fresh, so
  a slow job is never reaped, and a job whose worker died is found within
  ``WORKER_LIVENESS_TTL`` seconds. "Worker dead" really means "nobody is calling the
  provider for this note": the job dies with the worker (a horse by ``PR_SET_PDEATHSIG``).
* **Graceful shutdown.** SIGTERM (a deploy) lets the running job finish for
  ``ENRICHMENT_SHUTDOWN_GRACE`` seconds; then :class:`rq.exceptions.ShutDownImminentException`
  is raised inside the job and the pipeline puts the note back to QUEUED.
* **Redis outages.** Heartbeats, suspension checks and bookkeeping that fail because
  Redis is unreachable are logged instead of ending the worker; the dequeue loop waits
  with backoff until Redis answers again.

:class:`NoteWorker` runs its heartbeats in a thread while the job runs in the main thread.
A job stuck where RQ's timeout signal cannot interrupt it (inside C code) is the one thing
a process of its own would have contained: 60 s after its timeout the heartbeat thread
gives up on it and ends the worker, so that the supervisor starts a fresh one and the
reaper requeues the note.
"""

import contextlib
import ctypes
import functools
import logging
import os
import signal
import threading
import time
import uuid

import redis.utils
from django.conf import settings
from django.db import connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import ShutDownImminentException
from rq.queue import Queue
from rq.worker import HerokuWorker, SimpleWorker

logger = logging.getLogger(__name__)

ALIVE_KEY = "notesite:alive:{}"
_PR_SET_PDEATHSIG = 1
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
# How long past its timeout a job may go on before the worker gives up on it (as RQ's
# forking worker does with a horse that ignores its timeout).
HARD_TIMEOUT_MARGIN = 60


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


def _configure_worker_connections(*, health_checks: bool) -> None:
    """Database settings of a worker process (before its first connection)."""
    for connection in connections.all():
        if not health_checks:
            connection.settings_dict["CONN_HEALTH_CHECKS"] = False
        options = connection.settings_dict.setdefault("OPTIONS", {})
        # Lets psycopg prepare the pipeline's two statements (enrichment.statements) on
        # the server after a few runs; Django's own queries bind client-side and are not
        # affected.
        options.setdefault("prepare_threshold", 5)
        if settings.WORKER_SYNCHRONOUS_COMMIT:
            continue
        if "synchronous_commit" not in options.get("options", ""):
            options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()


class _NoteWorkerMixin:
    """Liveness marks, the maintenance queue, preloading and Redis-outage tolerance,
    shared by both worker classes. See the module docstring."""

    # RQ backs off up to 60 s between reconnection attempts; notes wait for that long
    # after Redis is back. 10 s keeps an outage's tail short at negligible cost.
    max_connection_wait_time = 10.0
    # CONN_HEALTH_CHECKS costs a round trip (a "SELECT 1") for every job that reuses a
    # connection. The pipeline's writes reconnect once instead when the connection turns
    # out dead, which covers a database restart between two jobs.
    per_job_health_checks = False

    def __init__(self, queues, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", heartbeat_interval())
        super().__init__(_with_maintenance_queue(queues), *args, **kwargs)
        self.imminent_shutdown_delay = settings.ENRICHMENT_SHUTDOWN_GRACE

    def work(self, *args, **kwargs):
        # Only a worker about to work preloads: RQ also builds worker objects just to
        # describe the workers registered in Redis (health view, dashboard).
        _configure_worker_connections(health_checks=self.per_job_health_checks)
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
            # Only RQ's bookkeeping failed (the job itself never raises Redis errors: the
            # pipeline handles them). The database holds the note's outcome, or the note
            # is still QUEUED for the reaper, so the worker carries on.
            logger.warning(
                "Worker %s: could not record job %s, Redis unreachable: %s",
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


class NoteWorker(_NoteWorkerMixin, SimpleWorker):
    """The default: jobs run in the worker process, on a connection kept between jobs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._job_running = False
        self._grace_timer: threading.Timer | None = None

    def _install_signal_handlers(self):
        super()._install_signal_handlers()
        signal.signal(signal.SIGRTMIN, self._interrupt_for_shutdown)

    def _interrupt_for_shutdown(self, signum, frame):
        if self._job_running:
            raise ShutDownImminentException("shut down imminent", {})

    def handle_warm_shutdown_request(self):
        super().handle_warm_shutdown_request()
        if self._job_running and self._grace_timer is None:
            logger.warning(
                "Worker %s: shutting down; the running job has %d s to finish",
                self.name,
                self.imminent_shutdown_delay,
            )
            self._grace_timer = threading.Timer(self.imminent_shutdown_delay, self._end_grace)
            self._grace_timer.daemon = True
            self._grace_timer.start()

    def _end_grace(self):
        # Signal handlers run in the main thread, the job's: the exception lands in the job.
        signal.pthread_kill(threading.main_thread().ident, signal.SIGRTMIN)

    def request_force_stop(self, signum, frame):
        """A second SIGTERM/SIGINT: interrupt the running job now (the pipeline puts its
        note back to QUEUED), then stop."""
        if self._job_running:
            self._stop_requested = True
            raise ShutDownImminentException("cold shut down", {})
        return super().request_force_stop(signum, frame)

    def perform_job(self, job, queue, execution):
        stop = threading.Event()
        beats = threading.Thread(
            target=self._keep_alive,
            args=(job, execution, stop),
            name=f"heartbeats-{job.id}",
            daemon=True,
        )
        self._job_running = True
        beats.start()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            self._job_running = False
            if self._grace_timer is not None:
                self._grace_timer.cancel()
            stop.set()
            beats.join()

    def _keep_alive(self, job, execution, stop: threading.Event) -> None:
        """Heartbeats while the job runs in the main thread; gives up on a job that has
        outlived its timeout by HARD_TIMEOUT_MARGIN (see the module docstring)."""
        started = time.monotonic()
        limit = job.timeout + HARD_TIMEOUT_MARGIN if job.timeout and job.timeout > 0 else None
        while not stop.wait(self.job_monitoring_interval):
            if limit is not None and time.monotonic() - started > limit:
                logger.critical(
                    "Worker %s: job %s ignored its %s s timeout; ending the worker so that "
                    "a fresh one takes over (the reaper requeues the note)",
                    self.name,
                    job.id,
                    job.timeout,
                )
                logging.shutdown()
                os._exit(1)
            self.maintain_heartbeats(job, execution)


class IsolatedNoteWorker(_NoteWorkerMixin, HerokuWorker):
    """RQ's forking worker: each job in a fresh work horse that dies with its worker.

    The grace period on SIGTERM is RQ's ``HerokuWorker`` protocol (SIGRTMIN to the horse)
    with our delay; a second SIGTERM/SIGINT kills the horse and the reaper recovers the
    note.
    """

    # --- the work horse -----------------------------------------------------------

    def setup_work_horse_signals(self):
        super().setup_work_horse_signals()
        _die_with_parent()
