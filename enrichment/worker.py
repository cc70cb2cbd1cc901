"""The RQ worker class: RQ's ``SimpleWorker`` with a grace period on SIGTERM, heartbeats
while a job runs, re-registration, and a worker that outlives a Redis outage.

``SimpleWorker`` runs each job in the worker process itself. Forking a work horse per job
(RQ's ``Worker`` and ``HerokuWorker``) costs a Django-sized process a fork, the pages it
then copies, and a new database connection with its server-side start-up, for every
note: 60 ms of CPU per job for RQ alone and 140 ms per note in all on this project's
benchmark, which capped a 2-core host at a fraction of its model calls
(docs/performance.md). In process, a job reuses the worker's database connection
(``CONN_MAX_AGE``), its imports and its clients.

What :class:`NoteWorker` adds, through public methods only:

* on SIGTERM during a job, the job goes on for ``ENRICHMENT_SHUTDOWN_GRACE`` seconds and
  then :class:`rq.exceptions.ShutDownImminentException` is raised inside it, as
  ``HerokuWorker`` does in its horse; the pipeline then puts the note back to QUEUED. A
  deploy therefore never leaves a note PROCESSING. A second signal stops at once (RQ's
  cold shutdown); the reaper queues that note again;
* heartbeats every third of ``WORKER_LIVENESS_TTL`` while a job runs, from a thread (the
  job holds the main one), and started-registry entries that expire after
  ``WORKER_LIVENESS_TTL`` without one: the reaper treats a job whose entry expired as
  lost, so a killed worker's note is queued again within that time;
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

import signal
import threading
from contextlib import contextmanager

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import worker_registration
from rq.exceptions import ShutDownImminentException
from rq.worker import SimpleWorker, WorkerStatus

# Imported in the worker before `rqworker-pool` forks its workers, so that they share the
# job, the pipeline and the enrichers instead of importing them each.
from enrichment import jobs  # noqa: F401
from enrichment.enrichers import local

# The offline enricher's models (language identification, the Chinese dictionary) are
# loaded when this module is imported, not per worker: `rqworker-pool` imports it in its
# parent before forking its workers, so 32 workers share one copy (loaded per worker,
# they took 5.4 GB of PSS).
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


class NoteWorker(SimpleWorker):
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
        """Run the job here, with a thread beating for it while it holds the main one."""
        done = threading.Event()
        # Raised only once the job has ended (or before it started): RQ could not record
        # how the job ended. The pipeline has stored the outcome in the database; the
        # reaper delivers the note again if it needs another attempt.
        with outage_logged(self, f"recording the end of job {job.id}"):
            execution = self.prepare_execution(job)

            def beat():
                while not done.wait(self.job_monitoring_interval):
                    self.maintain_heartbeats(job, execution)

            beating = threading.Thread(target=beat, daemon=True)
            beating.start()
            try:
                self.perform_job(job, queue, execution)
            finally:
                signal.alarm(0)  # a grace period armed as the job ended has nothing to stop
                done.set()
                beating.join()
        self.set_state(WorkerStatus.IDLE)

    def handle_warm_shutdown_request(self):
        """SIGTERM: a running job gets ``imminent_shutdown_delay`` seconds, then
        ``ShutDownImminentException`` inside it (the job timeout's alarm gives way, as in
        HerokuWorker's horse: the grace period is the shorter of the two)."""
        super().handle_warm_shutdown_request()
        if self.get_state() != WorkerStatus.BUSY:
            return
        self.log.warning(
            "Worker %s: shutting down, the running job has %d s to finish",
            self.name,
            self.imminent_shutdown_delay,
        )

        def stop(signum, frame):
            raise ShutDownImminentException("shut down imminent (grace period over)", {})

        signal.signal(signal.SIGALRM, stop)
        signal.alarm(max(1, self.imminent_shutdown_delay))
