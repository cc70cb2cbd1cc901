"""Redis Sentinel end to end: a real master with a password, a real Sentinel with its own
password, the web side enqueuing and a real worker process enriching, both configured
only through REDIS_SENTINELS and friends."""

import pytest
import redis
from django.test import override_settings
from redis.sentinel import Sentinel
from rq import Queue

from enrichment import health
from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.deploy.redis_servers import RedisProcess
from tests.deploy.support import load_settings
from tests.factories import make_user
from tests.support.workers import LiveWorker, run_burst_worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MASTER_PASSWORD = "master-pw-1234"
SENTINEL_PASSWORD = "sentinel-pw-5678"


def sentinel_env(sentinel: RedisProcess) -> dict:
    return {
        "REDIS_SENTINELS": f"127.0.0.1:{sentinel.port}",
        "REDIS_SENTINEL_MASTER": "notesite-master",
        "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
        # The master's password and db; its address comes from the Sentinels.
        "REDIS_URL": f"redis://:{MASTER_PASSWORD}@notesite-master/0",
    }


def start_server(replica_of: RedisProcess | None = None) -> RedisProcess:
    config = f"requirepass {MASTER_PASSWORD}\nmasterauth {MASTER_PASSWORD}\n"
    config += "appendonly no\nmaxmemory-policy noeviction\n"
    if replica_of:
        config += f"replicaof 127.0.0.1 {replica_of.port}\n"
    return RedisProcess(config).start(password=MASTER_PASSWORD)


def start_sentinel(master: RedisProcess) -> RedisProcess:
    return RedisProcess(
        f"requirepass {SENTINEL_PASSWORD}\n"
        f"sentinel monitor notesite-master 127.0.0.1 {master.port} 1\n"
        f"sentinel auth-pass notesite-master {MASTER_PASSWORD}\n"
        "sentinel down-after-milliseconds notesite-master 1000\n"
        "sentinel failover-timeout notesite-master 5000",
        sentinel=True,
    ).start(password=SENTINEL_PASSWORD)


@pytest.fixture
def servers():
    started = []
    yield started
    for server in reversed(started):
        server.stop()


@pytest.fixture
def sentinel_setup(servers):
    master = start_server()
    servers.append(master)
    sentinel = start_sentinel(master)
    servers.append(sentinel)
    yield sentinel_env(sentinel), redis.Redis(port=master.port, password=MASTER_PASSWORD)


def queue_config(env: dict) -> dict:
    """The RQ_QUEUES the settings produce for this environment."""
    return load_settings({"SECRET_KEY": "x" * 50, **env}, "RQ_QUEUES")["RQ_QUEUES"]


def test_notes_are_enqueued_and_enriched_through_a_sentinel(sentinel_setup, redis_conn):
    env, master = sentinel_setup
    queues = queue_config(env)

    # The web side: the same queue configuration the settings produce for this environment.
    with override_settings(RQ_QUEUES=queues):
        note = services.create_note(owner=make_user(), content="Book the venue for the offsite.")
    assert Queue("note_enrichment", connection=master).job_ids == [note.job_id]
    # Nothing went to the tests' own Redis.
    assert Queue("note_enrichment", connection=redis_conn).job_ids == []

    result = run_burst_worker(**env)
    assert result.returncode == 0, result.stderr

    note.refresh_from_db()
    assert note.processing_status == ProcessingStatus.COMPLETED
    assert Queue("note_enrichment", connection=master).fetch_job(note.job_id).get_status() == (
        "finished"
    )
    # The passwords never reach the worker's log.
    assert MASTER_PASSWORD not in result.stdout + result.stderr
    assert SENTINEL_PASSWORD not in result.stdout + result.stderr


def test_health_checks_the_master_the_sentinels_name(sentinel_setup, redis_conn):
    env, master = sentinel_setup
    queues = queue_config(env)
    master.rpush("rq:queue:note_enrichment", "job-a", "job-b")
    sentinels = queues["note_enrichment"]["SENTINELS"]
    with override_settings(REDIS_SENTINELS=sentinels, RQ_QUEUES=queues):
        checks = health._redis_checks()
    assert checks["redis"]["status"] == "ok"
    # The two jobs are only on the Sentinel's master, not on the Redis of REDIS_URL.
    assert checks["queue"]["queued"] == 2


@pytest.mark.slow
@pytest.mark.chaos
def test_after_a_failover_new_notes_reach_the_new_master_and_a_running_worker_follows(
    servers, redis_conn
):
    master = start_server()
    servers.append(master)
    replica = start_server(replica_of=master)
    servers.append(replica)
    sentinel = start_sentinel(master)
    servers.append(sentinel)
    env = sentinel_env(sentinel)
    queues = queue_config(env)
    watcher = Sentinel(
        [("127.0.0.1", sentinel.port)], sentinel_kwargs={"password": SENTINEL_PASSWORD}
    )
    # The Sentinel learns about the replica from the master's INFO (every few seconds).
    wait_until(
        lambda: watcher.sentinel_slaves("notesite-master"), timeout=30, message="replica seen"
    )

    with LiveWorker(**env):
        with override_settings(RQ_QUEUES=queues):
            before = services.create_note(owner=make_user(), content="Written before failover.")
        wait_until(
            lambda: Note.objects.get(pk=before.pk).processing_status == ProcessingStatus.COMPLETED,
            timeout=30,
            message="note before failover",
        )

        watcher.sentinels[0].execute_command("SENTINEL FAILOVER", "notesite-master")
        wait_until(
            lambda: watcher.discover_master("notesite-master")[1] == replica.port,
            timeout=30,
            message="the replica promoted",
        )

        with override_settings(RQ_QUEUES=queues):
            after = services.create_note(owner=make_user(), content="Written after failover.")
        promoted = redis.Redis(port=replica.port, password=MASTER_PASSWORD)
        assert Note.objects.get(pk=after.pk).job_id in (
            Queue("note_enrichment", connection=promoted).job_ids
            + Queue("note_enrichment", connection=promoted).started_job_registry.get_job_ids()
            + Queue("note_enrichment", connection=promoted).finished_job_registry.get_job_ids()
        )
        wait_until(
            lambda: Note.objects.get(pk=after.pk).processing_status == ProcessingStatus.COMPLETED,
            timeout=60,
            message="the running worker picks up work from the new master",
        )
