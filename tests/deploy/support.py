"""Helpers for the deployment tests: settings loaded in a fresh process, project files."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra) -> dict:
    """A production-like environment, as docker-compose.yml gives the application."""
    env = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "notes.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://notes.example.com",
        "DATABASE_URL": "postgres://notesite:pw@db:5432/notesite",
        "REDIS_URL": "redis://:pw@redis:6379/0",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def clean_env(env: dict) -> dict:
    """Only what a process needs to run plus ``env``: nothing leaks in from the test run."""
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    base["DJANGO_SETTINGS_MODULE"] = "notesite.settings"
    # Production settings refuse to start without a database; loading them connects to none.
    base["DATABASE_URL"] = "postgres://notesite@db.invalid:5432/notesite"
    base.update(env)
    base["READ_DOT_ENV"] = "false"  # a developer's .env must not change what is tested
    return base


def run_manage(*args, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_DUMP = """
import json, sys
import django
django.setup()
from django.conf import settings
names = sys.argv[1:]
print(json.dumps({n: getattr(settings, n, None) for n in names}, default=str))
"""


def load_settings(env: dict, *names: str) -> dict:
    """Import notesite.settings in a fresh process with exactly ``env``; return ``names``.

    Settings are one module evaluated once per process, so a new process is the only
    faithful way to see what a given environment produces.
    """
    result = subprocess.run(
        [sys.executable, "-c", _DUMP, *names],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise SettingsError(result.stderr)
    return json.loads(result.stdout)


class SettingsError(Exception):
    """Settings refused to load; the message is the child's stderr."""
