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
