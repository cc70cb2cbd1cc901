"""The RQ worker class: RQ's ``SimpleWorker`` with a grace period on SIGTERM, heartbeats
while a job runs, and re-registration.

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
  the job for lost), and a failed beat is logged instead of ending the worker mid-job
  (the next one, a third of the TTL later, tries again);
* re-registration with every heartbeat. RQ registers a worker once, at birth; after a
  Redis restart without persistence the worker keeps working but would be missing from
  ``rq:workers`` (and from /health/ and the dashboard) for as long as it lives. Writing
  its description and set memberships again is idempotent and costs one round trip's
  worth of commands; a busy worker beats every ``job_monitoring_interval`` seconds and
  an idle one every ``worker_ttl - 15``.
"""

import signal
import threading

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

# An idle worker blocks on its queues for worker_ttl - 15 s between heartbeats: 45 s, so
# that it is listed again within a minute of a Redis restart.
WORKER_TTL = 60


class NoteWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", max(1, settings.WORKER_LIVENESS_TTL // 3))
        super().__init__(*args, **kwargs)
        # rqworker always passes --worker-ttl (420 by default): cap it, see WORKER_TTL.
        self.worker_ttl = min(self.worker_ttl, WORKER_TTL)
        self.imminent_shutdown_delay = settings.ENRICHMENT_SHUTDOWN_GRACE

    def execute_job(self, job, queue):
        """Run the job here, with a thread beating for it while it holds the main one."""
        execution = self.prepare_execution(job)
        done = threading.Event()

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

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """The started-registry TTL: ``WORKER_LIVENESS_TTL`` instead of RQ's interval + 60 s."""
        return max(settings.WORKER_LIVENESS_TTL, self.job_monitoring_interval + 1)

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if self.birth_date is None:  # not registered yet: register_birth does it all
            return
        # After a Redis restart the worker's hash holds only the heartbeat: describe the
        # worker again (a handful of fields) and list it again.
        (pipeline if pipeline is not None else self.connection).hset(
            self.key, mapping=self.serialize()
        )
        worker_registration.register(self, pipeline)

    def maintain_heartbeats(self, job, execution):
        try:
            super().maintain_heartbeats(job, execution)
            with self.connection.pipeline() as pipe:
                job.started_job_registry.add_execution(
                    execution, pipe, ttl=self.get_heartbeat_ttl(job)
                )
                pipe.execute()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self.log.warning("Worker %s: heartbeat failed, Redis unreachable: %s", self.name, exc)
