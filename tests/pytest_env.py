"""Loaded with -p before Django settings are read: the test environment.

Real environment variables win, so CI can point the suite at its PostgreSQL and Redis.
PostgreSQL: DATABASE_URL if set; else a throw-away embedded server (devservices.postgres)
under .test-postgres/, stopped and deleted when the run ends.
Redis: REDIS_URL if set; else the server on localhost:6379 (database 15); else a real
redis-server started here from the development dependencies, stopped when the run ends.
"""

import atexit
import os
from pathlib import Path

from devservices import postgres
from devservices.redis import EmbeddedRedis, redis_answers

# A .env in the project (e.g. the one docker compose uses) must not change the tests.
os.environ["READ_DOT_ENV"] = "false"
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("ENRICHMENT_RETRY_BASE_DELAY", "0.2")
os.environ.setdefault("LOG_LEVEL", "warning")
# The test client and the live server speak plain HTTP; production redirects to HTTPS.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tests render templates without running collectstatic, so no manifest of hashed names
# exists; tests/deploy/ checks the hashed static files with a real collectstatic.
os.environ.setdefault("STATICFILES_MANIFEST", "false")

if not os.environ.get("REDIS_URL"):
    if redis_answers("127.0.0.1", 6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    else:
        _server = EmbeddedRedis().start()
        atexit.register(_server.stop)
        os.environ["REDIS_URL"] = _server.url

if not os.environ.get("DATABASE_URL"):
    _postgres = postgres.for_test_run(Path(__file__).resolve().parent.parent / ".test-postgres")
    os.environ["DATABASE_URL"] = _postgres.start()
    atexit.register(_postgres.stop)
