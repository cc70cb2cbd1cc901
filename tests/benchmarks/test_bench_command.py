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
    "latency      save -> completed, 2 notes one at a time, 20 ms model",
    "memory       one separate rqworker process",
    "concurrency  1 worker(s) (rqworker-pool), 20 ms model",
    "concurrency  2 worker(s) (rqworker-pool), 20 ms model",
    "memory       2 idle workers, total PSS (smaps_rollup)",
    "memory       2 workers in model calls",
    "overhead     pipeline vs raw RQ no-op",
    "overhead     openai backend, loopback stub answering at once",
    "pages        note list (/notes/), 200 notes",
    "pages        search, rare word (/notes/?q=quasar), 200 notes",
    "pages        search, word in 10% of notes (/notes/?q=lantern), 200 notes",
    "pages        detail (/notes/",
    "pages        admin changelist (/admin/notes/note/), 200 notes",
    "pages        admin changelist, failed",
    "pages        health view (/health/), 200 notes",
    "bulk         reprocess 200 notes: admin action",
    "bulk         reprocess 200 notes: reprocess_notes --all",
    "bulk         note written while 200 notes drain",
    "bulk         backlog of 10 notes drained to the last one",
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
                "--latency-ms=20",
                "--latency-notes=2",
                "--workers=1,2",
                "--jobs-per-worker=2",
                "--overhead-jobs=4",
                "--repeats=1",
                "--drain-workers=2",
                "--drain-notes=10",
                "--drain-window=1",
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
    # Every row with a target carries a verdict; the information rows carry none.
    for line in table.splitlines():
        if line.startswith(("latency ", "concurrency ", "pages ", "bulk ")):
            assert line.rstrip().endswith(("PASS", "FAIL")), line
        if line.startswith("pages "):
            assert "median" in line and " SQL" in line, line
    # Every note of the bench database was queued by the admin action and the command,
    # and the small backlog was drained to its last note.
    assert "200 notes QUEUED" in table
    assert "10 of 10 completed" in table
    _, name = environment.bench_database(connection.settings_dict)
    assert not bench_database_exists(name)
