"""The benchmark never touches the application's own database or Redis db."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from benchmarks import environment

POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "notesite",
    "USER": "app",
    "PASSWORD": "p@ss word",
    "HOST": "db.internal",
    "PORT": 6432,
}


def test_the_bench_database_sits_beside_the_applications_with_a_bench_suffix():
    url, name = environment.bench_database(POSTGRES)
    assert name == "notesite_bench"
    # Credentials survive the round trip through a URL, specials quoted.
    assert url == "postgres://app:p%40ss%20word@db.internal:6432/notesite_bench"


def test_the_bench_redis_url_keeps_the_server_and_options_and_changes_the_db():
    app = "redis://:secret@cache:6380/2?socket_timeout=10"
    assert environment.bench_redis_url(app, 13) == "redis://:secret@cache:6380/13?socket_timeout=10"


def test_the_bench_refuses_the_applications_own_redis_db():
    with pytest.raises(ImproperlyConfigured, match="db 2 is the application's"):
        environment.bench_redis_url("redis://cache:6379/2", 2)


def test_measuring_refuses_to_start_outside_the_bench_stores(settings, monkeypatch):
    monkeypatch.setenv(environment.INSIDE_ENV, settings.REDIS_URL.split("?")[0])
    # pytest's own database is not a bench database, so nothing may be flushed here.
    with pytest.raises(ImproperlyConfigured, match="Not a bench database"):
        environment.assert_inside(settings)


def bench_settings(redis_url):
    return SimpleNamespace(DATABASES={"default": {"NAME": "notesite_bench"}}, REDIS_URL=redis_url)


def test_measuring_refuses_a_redis_db_other_than_the_bench_one(monkeypatch):
    monkeypatch.setenv(environment.INSIDE_ENV, "redis://127.0.0.1:6379/13")
    with pytest.raises(ImproperlyConfigured, match="not the bench Redis db"):
        environment.assert_inside(bench_settings("redis://127.0.0.1:6379/0?socket_timeout=10"))


def test_measuring_starts_inside_the_bench_stores(monkeypatch):
    monkeypatch.setenv(environment.INSIDE_ENV, "redis://127.0.0.1:6379/13")
    environment.assert_inside(bench_settings("redis://127.0.0.1:6379/13?socket_timeout=10"))
