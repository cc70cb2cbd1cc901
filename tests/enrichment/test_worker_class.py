"""The worker classes warm what every job needs before the first job, and change nothing."""

import pytest
import redis.utils
from django.db import connections
from fakeredis import FakeRedis

from enrichment import worker
from enrichment.models import EnrichmentRun
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note

S = ProcessingStatus


def test_the_default_worker_class_runs_jobs_in_process():
    from django_rq.workers import get_worker_class
    from rq.worker import SimpleWorker

    assert get_worker_class() is worker.NoteWorker
    assert issubclass(worker.NoteWorker, SimpleWorker)


@pytest.mark.parametrize(
    ("worker_class", "rq_base"),
    [("NoteWorker", "SimpleWorker"), ("IsolatedNoteWorker", "HerokuWorker")],
)
def test_a_worker_preloads_when_it_starts_working_and_not_when_merely_described(
    monkeypatch, worker_class, rq_base
):
    import rq.worker

    cls = getattr(worker, worker_class)
    calls = []
    monkeypatch.setattr(worker, "preload", lambda: calls.append("preload"))
    monkeypatch.setattr(worker, "_configure_worker_connections", lambda **kw: None)
    monkeypatch.setattr(
        getattr(rq.worker, rq_base), "work", lambda self, *a, **k: calls.append("work")
    )
    # Built from Redis to describe a registered worker (health view): no preload.
    described = cls([], connection=FakeRedis())
    assert calls == []
    described.work(burst=True)
    assert calls == ["preload", "work"]


@pytest.mark.django_db(transaction=True)
def test_preloading_leaves_no_database_connection_open_for_a_horse_to_share(user):
    make_note(user, "x", status=S.QUEUED)  # opens the test's connection
    worker.preload()
    assert all(c.connection is None for c in connections.all(initialized_only=True))


@pytest.mark.django_db(transaction=True)
def test_preloading_rehearses_the_queries_without_changing_any_note(user):
    note = make_note(user, "Queued and waiting.", status=S.QUEUED, job_id="")
    before = Note.objects.values().get(pk=note.pk)
    worker.preload()
    assert Note.objects.values().get(pk=note.pk) == before
    assert not EnrichmentRun.objects.exists()


def test_preloading_caches_the_redis_client_version_lookup():
    worker.preload()
    assert hasattr(redis.utils.get_lib_version, "cache_info")
    hits = redis.utils.get_lib_version.cache_info().hits
    redis.utils.get_lib_version()
    assert redis.utils.get_lib_version.cache_info().hits == hits + 1


class _Job:
    id = "job-1"

    def __init__(self, timeout):
        self.timeout = timeout


class _Exited(Exception):
    pass


def _in_process_worker(monkeypatch, beats):
    described = worker.NoteWorker([], connection=FakeRedis())
    described.job_monitoring_interval = 0.01
    monkeypatch.setattr(described, "maintain_heartbeats", lambda job, ex: beats.append(job.id))
    return described


def test_an_in_process_worker_sends_heartbeats_while_its_job_runs(monkeypatch):
    import threading

    beats = []
    described = _in_process_worker(monkeypatch, beats)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    described._keep_alive(_Job(timeout=600), None, stop)
    assert len(beats) >= 5


def test_an_in_process_worker_gives_up_on_a_job_that_ignores_its_timeout(monkeypatch):
    import threading

    beats, exits = [], []

    def exit_(code):
        exits.append(code)
        raise _Exited

    monkeypatch.setattr(worker, "HARD_TIMEOUT_MARGIN", 0.05)
    monkeypatch.setattr(worker.os, "_exit", exit_)
    described = _in_process_worker(monkeypatch, beats)
    with pytest.raises(_Exited):
        described._keep_alive(_Job(timeout=0.05), None, threading.Event())
    assert exits == [1]


@pytest.mark.parametrize(("synchronous", "expected"), [(False, True), (True, False)])
def test_worker_connections_skip_the_wal_flush_wait_unless_configured(
    monkeypatch, settings, synchronous, expected
):
    settings.WORKER_SYNCHRONOUS_COMMIT = synchronous
    wrapper = connections["default"]
    monkeypatch.setattr(
        wrapper,
        "settings_dict",
        {**wrapper.settings_dict, "OPTIONS": dict(wrapper.settings_dict.get("OPTIONS", {}))},
    )
    worker._configure_worker_connections(health_checks=False)
    assert wrapper.settings_dict["CONN_HEALTH_CHECKS"] is False
    options = wrapper.settings_dict["OPTIONS"].get("options", "")
    assert ("synchronous_commit=off" in options) is expected
    # The pipeline's statements get prepared on the server (enrichment.statements).
    assert wrapper.settings_dict["OPTIONS"]["prepare_threshold"] == 5
