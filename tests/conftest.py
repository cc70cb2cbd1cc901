import django_rq
import fakeredis
import pytest
from django.conf import settings

from tests.factories import make_user


@pytest.fixture
def fake_redis(monkeypatch):
    """Queues backed by fakeredis: fast unit tests of what gets enqueued."""
    conn = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    monkeypatch.setattr(django_rq.queues, "get_connection", lambda *args, **kwargs: conn)
    return conn


@pytest.fixture
def redis_conn():
    """The real test Redis, emptied before and after the test."""
    conn = django_rq.get_connection(settings.ENRICHMENT_QUEUE)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def user(db):
    return make_user("alice")


@pytest.fixture
def staff_user(db):
    return make_user("admin", staff=True)
