"""The RQ worker class every `rqworker` runs (``RQ["WORKER_CLASS"]`` in settings).

It adds three things to RQ's forking worker, none of which touches the database in the
worker's main process (a connection opened there would leak into every forked horse):

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
import logging
import signal

from django.conf import settings
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
