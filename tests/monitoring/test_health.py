"""The /health/ endpoint in each state of the system, as probes and people see it."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

from .conftest import SECRET_PASSWORD, assert_no_secrets

S = ProcessingStatus
# The pool threads of the health check have their own database connections: they see
# only committed rows, hence transactional tests.
pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "health-token-for-tests-0123456789"


@pytest.fixture
def monitor_client(client, settings):
    settings.HEALTH_TOKEN = TOKEN
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return client


def get(client):
    started = time.monotonic()
    response = client.get("/health/")
    return response, json.loads(response.content), time.monotonic() - started


def test_all_fine_is_ok_and_anonymous_callers_see_statuses_only(
    client, redis_conn, registered_worker
):
    make_note(status=S.COMPLETED)

    response, body, _ = get(client)

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "redis",
        "queue",
        "bulk_queue",
        "workers",
        "notes",
        "backend",
    }
    # Statuses only: no counts, ages, latencies or names.
    assert all(check == {"status": "ok"} for check in body["checks"].values())
    assert response["Cache-Control"].startswith("max-age=0")


def test_all_fine_with_the_bearer_token_shows_the_figures(
    monitor_client, redis_conn, registered_worker
):
    make_note(status=S.COMPLETED)
    make_note(status=S.FAILED)

    response, body, _ = get(monitor_client)

    assert response.status_code == 200
    checks = body["checks"]
    assert checks["notes"]["counts"] == {
        "queued": 0,
        "processing": 0,
        "completed": 1,
        "failed": 1,
        "error": 0,
    }
    assert checks["workers"]["count"] == 1
    assert checks["workers"]["queues_covered"] == ["note_enrichment", "note_enrichment_bulk"]
    assert checks["workers"]["last_heartbeat_age_seconds"] < 5
    assert checks["queue"]["name"] == "note_enrichment"
    assert checks["database"]["latency_ms"] >= 0
    assert checks["backend"] == {
        "status": "ok",
        "backend": "local",
        "configured": True,
    }


def test_a_staff_session_shows_the_figures_and_a_plain_user_does_not(
    client, redis_conn, registered_worker, staff_user, user
):
    client.force_login(user)
    assert "counts" not in get(client)[1]["checks"]["notes"]

    client.force_login(staff_user)
    assert get(client)[1]["checks"]["notes"]["counts"]["queued"] == 0


def test_a_wrong_bearer_token_is_treated_as_anonymous(client, settings, redis_conn):
    settings.HEALTH_TOKEN = TOKEN
    response = client.get("/health/", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}x")
    body = json.loads(response.content)
    assert body["checks"]["notes"] == {"status": "ok"}


def test_no_token_configured_means_no_bearer_access(client, settings, redis_conn):
    settings.HEALTH_TOKEN = ""
    response = client.get("/health/", HTTP_AUTHORIZATION="Bearer ")
    assert json.loads(response.content)["checks"]["notes"] == {"status": "ok"}


def test_no_workers_with_a_backlog_is_degraded_and_says_why(monitor_client, redis_conn):
    owner = make_user()
    for i in range(3):
        services.create_note(owner=owner, content=f"Waiting note {i}.")

    response, body, _ = get(monitor_client)

    assert response.status_code == 200
    assert body["status"] == "degraded"
    workers = body["checks"]["workers"]
    assert workers["status"] == "degraded"
    assert workers["count"] == 0
    assert workers["problem"] == "no worker is running; 3 job(s) waiting"
    assert body["checks"]["queue"]["queued"] == 3
    assert 0 <= body["checks"]["queue"]["oldest_queued_age_seconds"] < 30
    assert body["checks"]["notes"]["counts"]["queued"] == 3


def test_stuck_notes_make_it_degraded(monitor_client, redis_conn, registered_worker, settings):
    settings.ENRICHMENT_STUCK_AFTER = 720
    settings.ENRICHMENT_QUEUED_STUCK_AFTER = 600
    now = timezone.now()
    make_note(status=S.PROCESSING, status_changed_at=now - timedelta(seconds=721))
    make_note(status=S.PROCESSING, status_changed_at=now - timedelta(seconds=60))
    make_note(status=S.QUEUED, status_changed_at=now - timedelta(hours=1))
    # Waiting for a scheduled retry is not stuck, however long ago it was queued.
    make_note(
        status=S.QUEUED,
        status_changed_at=now - timedelta(hours=1),
        retry_at=now + timedelta(minutes=5),
    )

    response, body, _ = get(monitor_client)

    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["notes"]["status"] == "degraded"
    assert body["checks"]["notes"]["stuck"] == 2
    assert body["checks"]["notes"]["oldest_queued_age_seconds"] >= 3600


def _redis_url(port):
    return f"redis://:{SECRET_PASSWORD}@127.0.0.1:{port}/0"


def test_redis_down_is_degraded_not_503_without_secrets(client, settings, closed_port):
    # Notes are still accepted while Redis is down, so the web must stay in rotation.
    settings.REDIS_URL = _redis_url(closed_port)

    response, body, elapsed = get(client)

    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == {"status": "down"}
    assert body["checks"]["database"] == {"status": "ok"}
    assert_no_secrets(response.content.decode(), str(closed_port), "Error")


def test_redis_down_shows_only_the_error_class_to_trusted_callers(
    monitor_client, settings, closed_port
):
    settings.REDIS_URL = _redis_url(closed_port)
    response, body, _ = get(monitor_client)
    assert body["checks"]["redis"] == {"status": "down", "error": "ConnectionError"}
    assert_no_secrets(response.content.decode(), str(closed_port))


def test_a_hanging_redis_is_reported_down_within_a_second(monitor_client, settings, hanging_port):
    settings.REDIS_URL = _redis_url(hanging_port)

    response, body, elapsed = get(monitor_client)

    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["error"] in {"TimeoutError", "timeout"}
    assert elapsed < 1.0
    assert_no_secrets(response.content.decode(), str(hanging_port))


@pytest.fixture
def database_at(monkeypatch):
    """Point new database connections (those of the check threads) at another port."""

    def move(port):
        monkeypatch.setitem(connections["default"].settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connections["default"].settings_dict, "PORT", port)
        monkeypatch.setitem(connections["default"].settings_dict, "PASSWORD", SECRET_PASSWORD)

    return move


def test_database_down_is_503_without_secrets(client, redis_conn, database_at, closed_port):
    database_at(closed_port)

    response, body, _ = get(client)

    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"status": "down"}
    assert body["checks"]["notes"] == {"status": "down"}
    assert body["checks"]["redis"] == {"status": "ok"}
    assert_no_secrets(response.content.decode(), str(closed_port), "Error")


def test_a_hanging_database_is_reported_down_within_a_second(
    monitor_client, redis_conn, database_at, hanging_port
):
    database_at(hanging_port)

    response, body, elapsed = get(monitor_client)

    assert response.status_code == 503
    assert body["checks"]["database"] == {"status": "down", "error": "timeout"}
    assert elapsed < 1.0
    assert_no_secrets(response.content.decode(), str(hanging_port))


def test_liveness_answers_even_when_everything_else_is_down(
    client, settings, monkeypatch, closed_port
):
    settings.REDIS_URL = _redis_url(closed_port)
    # Any database access at all would fail.
    monkeypatch.setattr(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
        lambda self: (_ for _ in ()).throw(AssertionError("the liveness probe used the database")),
    )
    response = client.get("/health/live")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_an_openai_backend_without_configuration_is_degraded(monitor_client, redis_conn, settings):
    settings.ENRICHMENT_BACKEND = "openai"
    _, body, _ = get(monitor_client)
    backend = body["checks"]["backend"]
    assert backend["status"] == "degraded"
    assert backend["configured"] is False
    assert backend["problems"]
    assert body["status"] == "degraded"


def test_notes_counts_take_one_query_whatever_the_table_size(django_assert_max_num_queries):
    from enrichment.health import note_figures

    owner = make_user()
    for status in S.values:
        make_note(owner, status=status)
    with django_assert_max_num_queries(3):
        figures = note_figures()
    assert figures["counts"] == dict.fromkeys(S.values, 1)
    assert Note.objects.count() == 5


def test_counts_beyond_the_exact_limit_come_from_the_table_statistics(monkeypatch):
    from django.db import connection

    from enrichment import health

    monkeypatch.setattr(health, "EXACT_COUNT_LIMIT", 3)
    owner = make_user()
    for _ in range(8):
        make_note(owner, status=S.COMPLETED)
    for _ in range(2):
        make_note(owner, status=S.FAILED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notes_note")
    counts = health.status_counts()
    # Under the limit: exact. Over it: the statistics' estimate, never below what was seen.
    assert counts[S.FAILED] == 2
    assert counts[S.QUEUED] == 0
    assert counts[S.COMPLETED] == 8
