import ipaddress
import socket

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


# --- No network beyond this machine ---------------------------------------------------

_LOOPBACK_NAMES = {"localhost", "::1"}


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = str(address[0])
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Fail any test that tries to reach a host other than this machine.

    The attempt is refused at once and remembered, so the test fails at teardown even if
    the code under test catches the error (an LLM client would call it a connection error
    and retry).
    """
    attempts = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address):
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"tests may not reach non-loopback host {address!r}")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    assert not attempts, f"tried to reach the network: {attempts}"
