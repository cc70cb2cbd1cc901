"""Gunicorn settings for the web service (`gunicorn --config gunicorn.conf.py notesite.wsgi`).

PORT and GUNICORN_WORKERS come from the environment (both listed in .env.example).
"""

import multiprocessing
import os

from notesite.logs import logging_config


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        message = f"Environment variable {name} must be a whole number, got {raw!r}."
        raise SystemExit(message) from None
    if value < 1:
        raise SystemExit(f"Environment variable {name} must be at least 1, got {value}.")
    return value


# 0.0.0.0 inside a container: the port is published (or proxied) by the container runtime.
bind = f"0.0.0.0:{_int('PORT', 8000)}"

# Gunicorn's rule of thumb is 2 x cores + 1 sync workers; capped because each worker is a
# whole Django process and a container often sees all of the host's cores.
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
# Pages only read and write PostgreSQL and enqueue to Redis (enrichment runs in the
# workers), so a request that takes longer than this is stuck: kill and replace it.
# (Any gunicorn setting can still be changed with gunicorn's own GUNICORN_CMD_ARGS.)
timeout = 30
# On SIGTERM (docker stop, a deploy) requests in flight get this long to finish: a page
# takes well under a second, and any request still running after `timeout` is stuck anyway.
# Below the web container's 30 s stop grace period (docker-compose.yml).
graceful_timeout = 25
keepalive = 5

# Recycle workers now and then so that a slow leak never grows without bound; the jitter
# keeps them from all restarting at once.
max_requests = 1000
max_requests_jitter = max_requests // 10

# Heartbeat files on tmpfs: on an overlay filesystem a slow disk can make the arbiter
# think healthy workers are dead.
# (gunicorn creates its own private files there; the directory is not shared state.)
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

# gunicorn logs through the application's configuration (notesite.logs): JSON lines on
# stdout with the same redaction, the access log as fields with its query string hidden.
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
_debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}
logconfig_dict = logging_config(level=loglevel.upper(), fmt="text" if _debug else "json")
# With a logconfig_dict, gunicorn writes access lines only when this is set.
accesslog = "-"
