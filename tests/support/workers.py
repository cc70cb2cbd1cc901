"""Real RQ worker processes for integration tests."""

import os
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from benchmarks.workers import worker_command  # noqa: F401  (the tests' worker command too)

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"


def worker_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "notesite.settings",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_burst_worker(timeout: float = 90, **env) -> subprocess.CompletedProcess:
    """Run a worker until the queues are empty, then return its output."""
    return subprocess.run(
        worker_command("--burst"),
        cwd=ROOT,
        env=worker_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class LiveWorker:
    """A long-running worker (with the scheduler, for delayed retries)."""

    def __init__(self, *flags, **env):
        self.flags = flags or ("--with-scheduler",)
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(
            worker_command(*self.flags),
            cwd=ROOT,
            env=worker_env(**self.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s {message}")
