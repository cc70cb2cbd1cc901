"""The RQ worker class: RQ's ``HerokuWorker`` with a few public overrides.

``HerokuWorker`` forks a work horse per job, like RQ's ``Worker``, and on SIGTERM lets the
running job go on for ``imminent_shutdown_delay`` seconds before raising
:class:`rq.exceptions.ShutDownImminentException` inside it; the pipeline then puts the
note back to QUEUED. A deploy therefore never leaves a note PROCESSING.

What :class:`NoteWorker` adds, through public methods only:

* heartbeats every third of ``WORKER_LIVENESS_TTL``, and started-registry entries that
  expire after ``WORKER_LIVENESS_TTL`` without one: the reaper treats a job whose entry
  expired as lost, so a killed worker's note is queued again within that time;
* a heartbeat that survives a Redis restart: it puts the running job back in its
  started registry (RQ only refreshes an entry that exists, and the reaper would take
  the job for lost);
* re-registration with every heartbeat. RQ registers a worker once, at birth; after a
  Redis restart without persistence the worker keeps working but would be missing from
  ``rq:workers`` (and from /health/ and the dashboard) for as long as it lives. Writing
  its description, state and set memberships again is idempotent and cheap. A busy
  worker beats every ``job_monitoring_interval`` seconds (30 by default), an idle one
  every ``worker_ttl - 15`` (45) and as soon as it reconnects after an outage, at most
  ``max_connection_wait_time`` (15) seconds after Redis is back;
* a worker that outlives a Redis outage. RQ's idle worker retries its blocking dequeue
  until Redis answers, but any other Redis command in its loop that fails (its state,
  the suspension check, the maintenance pass, the shutdown request, the bookkeeping
  after a job that ends while Redis is away) ends the worker. Those calls log the outage
  and go on here: the database holds every note's status and the reaper settles a note
  whose job Redis forgot, so nothing RQ could not record is lost.
"""

from contextlib import contextmanager

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import worker_registration
from rq.worker import HerokuWorker

# Imported in the worker, before any fork, so that each work horse inherits the job, the
# pipeline and the enrichers instead of importing them again.
from enrichment import jobs  # noqa: F401
from enrichment.enrichers import local

# Every job runs in a horse forked from the worker: the offline enricher's models (language
# identification, the Chinese dictionary), loaded once here, are shared by every horse
# instead of costing each note about a second to load again. Loaded when this module is
# imported, not per worker: `rqworker-pool` imports it in its parent before forking its
# workers, so 32 workers share one copy (loaded per worker, they took 5.4 GB of PSS).
local.warm_up()

# An idle worker blocks on its queues for worker_ttl - 15 s between heartbeats: 45 s. A
# restart breaks its connection and it beats as soon as it reconnects; the 45 s bound
# covers a Redis that forgot its workers without dropping connections (a FLUSHALL).
WORKER_TTL = 60


REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


@contextmanager
def outage_logged(worker, what: str):
    """Log a Redis outage during ``what`` instead of letting it end the worker."""
    try:
        yield
    except REDIS_DOWN as exc:
        worker.log.warning("Worker %s: %s failed, Redis unreachable: %s", worker.name, what, exc)


class NoteWorker(HerokuWorker):
    # The longest pause between reconnection attempts (RQ's default is 60 s): an idle
    # worker is listed again within 15 s of Redis answering, however long it was away.
    max_connection_wait_time = 15.0

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", max(1, settings.WORKER_LIVENESS_TTL // 3))
        super().__init__(*args, **kwargs)
        # rqworker always passes --worker-ttl (420 by default): cap it, see WORKER_TTL.
        self.worker_ttl = min(self.worker_ttl, WORKER_TTL)
        self.imminent_shutdown_delay = settings.ENRICHMENT_SHUTDOWN_GRACE

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """The started-registry TTL: ``WORKER_LIVENESS_TTL`` instead of RQ's interval + 60 s."""
        return max(settings.WORKER_LIVENESS_TTL, self.job_monitoring_interval + 1)

    def heartbeat(self, timeout=None, pipeline=None):
        with outage_logged(self, "heartbeat"):
            super().heartbeat(timeout, pipeline)
            if self.birth_date is None:  # not registered yet: register_birth does it all
                return
            # After a Redis restart the worker's hash holds only the heartbeat: describe
            # the worker again and list it again.
            connection = pipeline if pipeline is not None else self.connection
            connection.hset(self.key, mapping=self.serialize())
            self.set_state(self.get_state(), pipeline)
            worker_registration.register(self, pipeline)

    def maintain_heartbeats(self, job, execution):
        with outage_logged(self, "heartbeat"):
            super().maintain_heartbeats(job, execution)
            with self.connection.pipeline() as pipe:
                job.started_job_registry.add_execution(
                    execution, pipe, ttl=self.get_heartbeat_ttl(job)
                )
                pipe.execute()

    def set_state(self, state, pipeline=None):
        with outage_logged(self, "recording its state"):
            super().set_state(state, pipeline)

    def set_shutdown_requested_date(self):
        # Called from the SIGTERM handler: an outage must not cut a warm shutdown short.
        with outage_logged(self, "recording the shutdown request"):
            super().set_shutdown_requested_date()

    def check_for_suspension(self, burst):
        with outage_logged(self, "the suspension check"):
            super().check_for_suspension(burst)

    def run_maintenance_tasks(self):
        with outage_logged(self, "registry maintenance"):
            super().run_maintenance_tasks()

    def execute_job(self, job, queue):
        # Raised only once the horse has exited (or before it was forked): RQ could not
        # record how the job ended. The pipeline has stored the outcome in the database;
        # the reaper delivers the note again if it needs another attempt.
        with outage_logged(self, f"recording the end of job {job.id}"):
            super().execute_job(job, queue)
