"""Redis Sentinel end to end: a real master with a password, a real Sentinel with its own
password, the web side enqueuing and a real worker process enriching, both configured
only through REDIS_SENTINELS and friends."""

import pytest
import redis
from django.test import override_settings
from rq import Queue

from notes import services
from notes.status import ProcessingStatus
from tests.deploy.redis_servers import RedisProcess
from tests.deploy.support import load_settings
from tests.factories import make_user
from tests.support.workers import run_burst_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MASTER_PASSWORD = "master-pw-1234"
SENTINEL_PASSWORD = "sentinel-pw-5678"


@pytest.fixture
def sentinel_setup():
    master = RedisProcess(
        f"requirepass {MASTER_PASSWORD}\nappendonly no\nmaxmemory-policy noeviction"
    ).start(password=MASTER_PASSWORD)
    sentinel = RedisProcess(
        f"requirepass {SENTINEL_PASSWORD}\n"
        f"sentinel monitor notesite-master 127.0.0.1 {master.port} 1\n"
        f"sentinel auth-pass notesite-master {MASTER_PASSWORD}",
        sentinel=True,
    )
    try:
        sentinel.start(password=SENTINEL_PASSWORD)
        env = {
            "REDIS_SENTINELS": f"127.0.0.1:{sentinel.port}",
            "REDIS_SENTINEL_MASTER": "notesite-master",
            "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
            "REDIS_PASSWORD": MASTER_PASSWORD,
            "REDIS_DB": "0",
        }
        yield env, redis.Redis(port=master.port, password=MASTER_PASSWORD)
    finally:
        sentinel.stop()
        master.stop()


def test_notes_are_enqueued_and_enriched_through_a_sentinel(sentinel_setup, redis_conn):
    env, master = sentinel_setup
    queues = load_settings({"SECRET_KEY": "x" * 50, **env}, "RQ_QUEUES")["RQ_QUEUES"]

    # The web side: the same queue configuration the settings produce for this environment.
    with override_settings(RQ_QUEUES=queues):
        note = services.create_note(owner=make_user(), content="Book the venue for the offsite.")
    assert Queue("note_enrichment", connection=master).job_ids == [note.job_id]
    # Nothing went to the Redis named by REDIS_URL: with Sentinels it is not used.
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
