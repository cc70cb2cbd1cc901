"""Where the benchmark runs: a database and a Redis db of its own, never the application's.

The command derives them from the application's settings (database ``<name>_bench`` on the
same PostgreSQL server, Redis db 13 or ``--redis-db``), creates the database,
and re-runs itself with ``DATABASE_URL`` and ``REDIS_URL`` pointing there, so every
process of the run (the command, its workers, its helper steps) sees only bench data.
"""

import os
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

# Set in the re-run process: proves that its settings point at the bench stores.
INSIDE_ENV = "NOTESITE_BENCH_INSIDE"
DEFAULT_REDIS_DB = 13


@dataclass(frozen=True)
class BenchStores:
    database_url: str
    database_name: str
    redis_url: str


def database_url(settings_dict: dict, name: str) -> str:
    """A DATABASE_URL for ``settings_dict``'s server with another database ``name``."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}{':' + password if password else ''}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(name, safe='')}"


def bench_database(settings_dict: dict) -> tuple[str, str]:
    """(url, name) of the bench database beside the application's."""
    name = f"{settings_dict['NAME']}_bench"
    return database_url(settings_dict, name), name


def redis_db_of(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def bench_redis_url(app_redis_url: str, db: int) -> str:
    """The application's Redis server, another db number; refuses the application's own db."""
    parts = urlsplit(app_redis_url)
    if parts.scheme == "unix":
        raise ImproperlyConfigured("Give the benchmark a Redis URL with --redis-url.")
    if db == redis_db_of(app_redis_url):
        raise ImproperlyConfigured(
            f"The benchmark flushes its Redis db; db {db} is the application's. "
            "Choose another with --redis-db."
        )
    return urlunsplit(parts._replace(path=f"/{db}"))


def create_database(stores: BenchStores, settings_dict: dict) -> None:
    """A fresh, empty bench database (dropped first if a previous run left one)."""
    with _maintenance_connection(settings_dict) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{stores.database_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{stores.database_name}"')


def drop_database(stores: BenchStores, settings_dict: dict) -> None:
    with _maintenance_connection(settings_dict) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{stores.database_name}" WITH (FORCE)')


def _maintenance_connection(settings_dict: dict):
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=settings_dict.get("PORT") or 5432,
        autocommit=True,
    )


def assert_inside(settings_module) -> None:
    """Refuse to run a measurement that flushes Redis anywhere but in the bench stores."""
    db = settings_module.DATABASES["default"]
    name = str(db["NAME"])
    expected_redis = os.environ.get(INSIDE_ENV, "")
    if not name.endswith("_bench"):
        raise ImproperlyConfigured(f"Not a bench database: {name}")
    if not expected_redis or settings_module.REDIS_URL.split("?")[0] != expected_redis:
        raise ImproperlyConfigured("The Redis URL is not the bench Redis db.")
