"""A smoke run of `manage.py bench`: tiny sizes, real workers, its own database and Redis.

Not a timing test: it checks that every section still runs and prints its rows, so that
the benchmark keeps working as the code changes. The figures are meaningless at this size.
"""

import subprocess
import sys

import pytest
from django.db import connection

from benchmarks import environment
from devservices.redis import EmbeddedRedis
from tests.support.workers import ROOT, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.django_db]

ROWS = [
    "overhead  pipeline vs raw RQ",
    "overhead  SQL statements per enriched note",
    "memory    worker RSS after 15 and 45 jobs",
    "scaling   1 worker(s), 20 ms per call",
    "scaling   2 worker(s), 20 ms per call",
    "pages     note list (/notes/), 200 notes",
    "pages     search (/notes/?q=quasar), 200 notes",
    "pages     detail (/notes/",
    "pages     admin changelist (/admin/notes/note/), 200 notes",
    "pages     health view (/health/), 200 notes",
    "requeue 200 notes: admin action",
]


def bench_database_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def test_the_bench_command_prints_every_row_and_cleans_up_after_itself():
    # A private Redis: the bench flushes its db, and other test runs share the main one.
    with EmbeddedRedis() as redis:
        completed = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "bench",
                "--quick",
                "--notes=200",
                "--jobs=10",
                "--memory-warmup=15",
                "--memory-jobs=45",
                "--latency-ms=20",
                "--workers=1,2",
                "--jobs-per-worker=2",
                "--repeats=1",
                f"--redis-url={redis.url}",
            ],
            cwd=ROOT,
            env=worker_env(LOG_LEVEL="warning"),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert completed.returncode == 0, completed.stderr[-4000:]
    table = completed.stdout
    assert "notesite benchmark" in table
    assert "worker class: enrichment.worker.NoteWorker" in table
    for row in ROWS:
        assert row in table, f"missing row {row!r} in:\n{table}"
    # Every measured row carries a verdict; a page not built yet says so instead.
    for line in table.splitlines():
        if line.startswith(("overhead  pipeline", "memory ", "bulk ")) and "n/a" not in line:
            assert line.rstrip().endswith(("PASS", "FAIL")), line
        if line.startswith("pages ") and "n/a (not built)" not in line:
            assert "median" in line and " SQL" in line, line
    # The admin action really queued every note of the bench database.
    assert "200 notes queued" in table
    _, name = environment.bench_database(connection.settings_dict)
    assert not bench_database_exists(name)
