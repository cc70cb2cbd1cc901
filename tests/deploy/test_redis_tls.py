"""rediss:// end to end: a real Redis that only speaks TLS and requires a password, a
private CA given in the URL, the web side enqueuing and a real worker process."""

import shutil
import subprocess

import pytest
import redis
from django.test import override_settings
from rq import Queue

from notes import services
from notes.status import ProcessingStatus
from tests.deploy.redis_servers import RedisProcess, make_tls_files
from tests.deploy.support import load_settings
from tests.factories import make_user
from tests.support.workers import run_burst_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "tls-pw:/@9876"
QUOTED = "tls-pw%3A%2F%409876"


def tls_capable_redis_server() -> str | None:
    """The system redis-server if it was built with TLS (the bundled one is not)."""
    binary = shutil.which("redis-server")
    if not binary or not shutil.which("openssl"):
        return None
    # Directives are read in order and the first bad one is reported: a build without TLS
    # stops at tls-port, one with TLS at the made-up directive after it.
    probe = subprocess.run(
        [binary, "--tls-port", "0", "--not-a-directive", "x"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return None if "tls-port" in probe.stderr + probe.stdout else binary


@pytest.fixture
def tls_redis(tmp_path):
    binary = tls_capable_redis_server()
    if binary is None:
        pytest.skip("no redis-server with TLS support and openssl on this machine")
    tls = make_tls_files(tmp_path)
    server = RedisProcess(f"requirepass {PASSWORD}\nappendonly no", tls=tls, binary=binary).start(
        password=PASSWORD
    )
    yield server
    server.stop()


def queues_for(url: str) -> dict:
    return load_settings({"SECRET_KEY": "x" * 50, "REDIS_URL": url}, "RQ_QUEUES")["RQ_QUEUES"]


def test_notes_are_enqueued_and_enriched_over_tls_with_a_password(tls_redis, redis_conn):
    url = f"rediss://:{QUOTED}@127.0.0.1:{tls_redis.port}/0?ssl_ca_certs={tls_redis.tls.ca_cert}"
    with override_settings(RQ_QUEUES=queues_for(url)):
        note = services.create_note(owner=make_user(), content="Renew the TLS certificates.")

    server = redis.Redis("127.0.0.1", tls_redis.port, password=PASSWORD, **tls_redis.ssl())
    assert Queue("note_enrichment", connection=server).job_ids == [note.job_id]

    result = run_burst_worker(REDIS_URL=url)
    assert result.returncode == 0, result.stderr
    note.refresh_from_db()
    assert note.processing_status == ProcessingStatus.COMPLETED
    assert PASSWORD not in result.stdout + result.stderr
    assert QUOTED not in result.stdout + result.stderr


def test_a_server_certificate_from_an_unknown_ca_is_refused(tls_redis, redis_conn):
    # Without the private CA, the certificate cannot be verified: nothing is sent.
    url = f"rediss://:{QUOTED}@127.0.0.1:{tls_redis.port}/0"
    with override_settings(RQ_QUEUES=queues_for(url)):
        note = services.create_note(owner=make_user(), content="Trust nobody.")

    server = redis.Redis("127.0.0.1", tls_redis.port, password=PASSWORD, **tls_redis.ssl())
    assert Queue("note_enrichment", connection=server).job_ids == []
    note.refresh_from_db()
    # The note waits in the database for enqueue_pending or the reaper.
    assert note.processing_status == ProcessingStatus.QUEUED
