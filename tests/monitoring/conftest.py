import socket
import uuid

import pytest
from django.conf import settings
from rq import Worker

from devservices.redis import free_port
from enrichment import metrics


@pytest.fixture(autouse=True)
def _fresh_metrics():
    metrics.clear_cache()
    yield
    metrics.clear_cache()


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on: connections are refused at once."""
    return free_port()


@pytest.fixture
def hanging_port():
    """A loopback port that accepts connections and never answers (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    # Closing resets the pending connections, which frees any thread still waiting.
    server.close()


@pytest.fixture
def registered_worker(redis_conn):
    """A real RQ worker registration on both enrichment queues (no process needed to be
    *seen*: the health check reads the registry that running workers keep fresh)."""
    worker = Worker(
        [settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE],
        connection=redis_conn,
        name=f"test-worker-{uuid.uuid4().hex[:8]}",
    )
    worker.register_birth()
    worker.heartbeat()
    yield worker
    worker.register_death()


SECRET_PASSWORD = "s3cret-Pa55word-never-shown"


def assert_no_secrets(text: str, *extra: str):
    """Nothing that identifies or unlocks infrastructure appears in ``text``."""
    forbidden = [SECRET_PASSWORD, "127.0.0.1", "localhost", "redis://", "postgres://", *extra]
    for needle in forbidden:
        assert needle not in text, f"{needle!r} leaked"
