import socket

import django_rq
import fakeredis
import pytest
from django.conf import settings

from tests.factories import make_user
from tests.support import netguard


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
def client_of(client):
    """``client_of(user)``: the test client, logged in as ``user``."""

    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def staff_user(db):
    return make_user("admin", staff=True)


# --- No network beyond this machine ---------------------------------------------------


@pytest.fixture(autouse=True)
def no_internet():
    """Fail any test that tries to reach a host other than this machine.

    The attempt is refused at once and remembered, so the test fails at teardown even if
    the code under test catches the error (an LLM client would call it a connection error
    and retry).
    """
    attempts = []
    real_connect, real_connect_ex = netguard.install(attempts.append)
    try:
        yield attempts
    finally:
        socket.socket.connect = real_connect
        socket.socket.connect_ex = real_connect_ex
    assert not attempts, f"tried to reach the network: {attempts}"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Password hashing is deliberately slow; tests log in often and need no such cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
