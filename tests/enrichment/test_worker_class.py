"""The worker class: RQ's SimpleWorker, public overrides only, listed again after Redis
forgets it."""

import inspect

import pytest
import redis
from django_rq.workers import get_worker
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Worker
from rq.worker import SimpleWorker

from devservices.redis import free_port
from enrichment.worker import NoteWorker

pytestmark = pytest.mark.integration


def test_it_is_rqs_simple_worker_with_public_overrides_only(settings):
    assert issubclass(NoteWorker, SimpleWorker)
    own = [name for name in vars(NoteWorker) if callable(getattr(NoteWorker, name))]
    assert all(not name.startswith("_") or name == "__init__" for name in own)
    for name in own:
        assert name == "__init__" or hasattr(SimpleWorker, name), f"{name} is not RQ's"
    assert "ctypes" not in inspect.getsource(inspect.getmodule(NoteWorker))


def test_the_worker_command_serves_every_queue_in_priority_order(settings, redis_conn):
    worker = get_worker(
        settings.ENRICHMENT_MAINTENANCE_QUEUE,
        settings.ENRICHMENT_QUEUE,
        settings.ENRICHMENT_BULK_QUEUE,
    )
    assert isinstance(worker, NoteWorker)
    assert worker.queue_names() == [
        settings.ENRICHMENT_MAINTENANCE_QUEUE,
        settings.ENRICHMENT_QUEUE,
        settings.ENRICHMENT_BULK_QUEUE,
    ]


def test_its_clocks_follow_the_settings(settings, redis_conn):
    settings.WORKER_LIVENESS_TTL = 90
    settings.ENRICHMENT_SHUTDOWN_GRACE = 20
    worker = get_worker(settings.ENRICHMENT_QUEUE, worker_ttl=420)  # rqworker's default
    assert worker.imminent_shutdown_delay == 20
    assert worker.job_monitoring_interval == 30
    # An idle worker beats (and is listed again) at least every 45 s.
    assert worker.dequeue_timeout <= 45
    # A started job's registry entry outlives two missed heartbeats, not more.
    assert worker.get_heartbeat_ttl(None) == 90


def test_a_heartbeat_lists_the_worker_again_after_redis_forgot_it(settings, redis_conn):
    worker = get_worker(settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE)
    worker.register_birth()
    assert [w.name for w in Worker.all(connection=redis_conn)] == [worker.name]

    redis_conn.flushdb()  # Redis restarted without persistence
    assert Worker.all(connection=redis_conn) == []

    worker.heartbeat()
    (listed,) = Worker.all(connection=redis_conn)
    assert listed.name == worker.name
    assert listed.queue_names() == [settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE]
    assert Worker.count(queue=worker.queues[0]) == 1


def test_a_redis_outage_in_its_loop_is_logged_instead_of_ending_the_worker(
    settings, redis_conn, caplog
):
    worker = get_worker(settings.ENRICHMENT_QUEUE)
    worker.register_birth()
    # Redis gone: nothing listens on this port, and the client gives up at once.
    worker.connection = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))

    worker.heartbeat()
    worker.set_state("idle")
    worker.check_for_suspension(burst=False)

    outages = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(outages) == 3
