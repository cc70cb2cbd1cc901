"""Bulk reprocessing, database first: chunked UPDATEs mark notes QUEUED, and the feeder
delivers them to the bulk queue in batches, round-robin across owners."""

import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db
FEED_FUNC = "enrichment.jobs.feed_job"


def bulk_queue(conn) -> Queue:
    return Queue("note_enrichment_bulk", connection=conn)


def note_job_ids(conn) -> list[str]:
    return [j for j in bulk_queue(conn).job_ids if j.startswith("note-")]


def test_it_marks_finished_notes_queued_in_chunks_and_skips_active_ones(user, fake_redis):
    statuses = [S.COMPLETED, S.FAILED, S.PROCESSING, S.ERROR, S.COMPLETED, S.QUEUED, S.FAILED]
    notes = [make_note(user, f"note {i}", status=s) for i, s in enumerate(statuses)]
    with CaptureQueriesContext(connection) as queries:
        count = services.reprocess_notes([n.pk for n in notes], chunk_size=3)
    assert count == 5
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    # At most one statement per chunk and old status, nothing per note.
    assert len(updates) <= 3 * len(S.terminal())
    finished = [n.pk for n in notes if n.processing_status in S.terminal()]
    moved = Note.objects.filter(pk__in=finished, processing_status=S.QUEUED, job_id="")
    assert moved.count() == len(finished) == 5
    untouched = {n.pk: n.processing_status for n in notes if n.pk not in finished}
    assert dict(Note.objects.filter(pk__in=untouched).values_list("pk", "processing_status")) == (
        untouched
    )


def test_it_delivers_after_commit_and_resets_what_a_single_reprocess_resets(
    user, fake_redis, django_capture_on_commit_callbacks
):
    before = timezone.now()
    stale = {
        "attempts": 3,
        "reap_count": 2,
        "retry_at": before - timedelta(minutes=1),
        "last_error": "boom",
        "status_detail": "gave up",
        "processing_token": uuid.uuid4(),
        "job_id": "note-0-old",
        "status_changed_at": before - timedelta(days=1),
    }
    notes = [make_note(user, f"n{i}", status=S.FAILED, **stale) for i in range(4)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.reprocess_notes([n.pk for n in notes], ignore_cache=True) == 4
    assert bulk_queue(fake_redis).job_ids == []  # nothing before the commit
    for callback in callbacks:
        callback()
    moved = list(Note.objects.filter(pk__in=[n.pk for n in notes]).order_by("pk"))
    for note in moved:
        assert note.processing_status == S.QUEUED
        assert re.fullmatch(rf"note-{note.pk}-[0-9a-f]{{16}}", note.job_id)
        assert (note.attempts, note.reap_count, note.retry_at) == (0, 0, None)
        assert (note.last_error, note.status_detail, note.processing_token) == ("", "", None)
        assert note.ignore_cache is True
        assert note.status_changed_at >= before
    # The batch, in order, then the job that feeds the next batch.
    assert bulk_queue(fake_redis).job_ids == [n.job_id for n in moved] + [
        bulk_queue(fake_redis).job_ids[-1]
    ]
    assert bulk_queue(fake_redis).jobs[-1].func_name == FEED_FUNC


def test_it_feeds_round_robin_across_owners(fake_redis, monkeypatch):
    monkeypatch.setattr(services, "FEED_BATCH", 6)
    busy, other, third = make_user("busy"), make_user("other"), make_user("third")
    backlog = [make_note(busy, f"b{i}", status=S.QUEUED).pk for i in range(20)]
    mine = [make_note(other, f"o{i}", status=S.QUEUED).pk for i in range(2)]
    theirs = make_note(third, "t", status=S.QUEUED).pk

    assert services.feed() == 6
    fed = [int(j.split("-")[1]) for j in note_job_ids(fake_redis)]
    # First every owner's oldest, then every owner's second, and so on.
    assert fed == [backlog[0], mine[0], theirs, backlog[1], mine[1], backlog[2]]


def test_it_tops_up_only_when_the_bulk_queue_runs_low(user, fake_redis, monkeypatch):
    monkeypatch.setattr(services, "FEED_BATCH", 5)
    for i in range(12):
        make_note(user, f"n{i}", status=S.QUEUED)
    assert services.feed() == 5
    assert services.feed() == 0  # a batch is still waiting
    assert services.feed(force=True) == 5  # the feed job at the end of the batch
    assert services.feed(force=True) == 2
    assert services.feed(force=True) == 0
    assert Note.objects.filter(job_id="").count() == 0


def test_it_leaves_scheduled_retries_to_their_time(user, fake_redis):
    later = make_note(user, "later", status=S.QUEUED, retry_at=timezone.now() + timedelta(hours=1))
    assert services.feed() == 0
    assert Note.objects.get(pk=later.pk).job_id == ""


def test_a_batch_redis_refuses_forgets_its_job_ids(user, fake_redis, monkeypatch, caplog):
    notes = [make_note(user, f"n{i}", status=S.QUEUED) for i in range(3)]

    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(Queue, "enqueue_many", refuse)
    with caplog.at_level(logging.ERROR):
        assert services.feed() == 0
    assert "Could not enqueue 4" in caplog.text
    assert all(n.job_id == "" for n in Note.objects.filter(pk__in=[n.pk for n in notes]))
    monkeypatch.undo()
    monkeypatch.setattr("django_rq.queues.get_connection", lambda *args, **kwargs: fake_redis)
    assert services.feed() == 3


def test_it_logs_how_many_notes_of_each_chunk_left_each_status(user, fake_redis, caplog):
    statuses = [S.FAILED, S.FAILED, S.ERROR]
    notes = [make_note(user, f"n{i}", status=s) for i, s in enumerate(statuses)]
    with caplog.at_level(logging.INFO, logger="notes.status"):
        services.reprocess_notes([n.pk for n in notes], chunk_size=2)
    moves = [
        (r.old_status, r.count)
        for r in caplog.records
        if getattr(r, "new_status", None) == S.QUEUED
    ]
    assert moves == [(S.FAILED, 2), (S.ERROR, 1)]


def test_a_selection_is_marked_in_keyset_chunks_inside_the_database(user, fake_redis):
    statuses = [S.COMPLETED, S.FAILED, S.PROCESSING, S.ERROR, S.COMPLETED, S.QUEUED, S.FAILED]
    notes = [make_note(user, f"note {i}", status=s) for i, s in enumerate(statuses)]
    other = make_note(make_user("bob"), "not selected", status=S.COMPLETED)
    seen = []
    selection = Note.objects.filter(owner=user)
    with CaptureQueriesContext(connection) as queries:
        count = services.reprocess_selection(selection, chunk_size=3, progress=seen.append)
    assert count == 5
    assert sum(seen) == 5 and len(seen) == 3  # 7 notes in chunks of 3
    # No statement names the notes one by one: chunks are id ranges.
    assert not any(f" IN ({notes[0].pk}" in q["sql"] for q in queries.captured_queries)
    finished = [n.pk for n in notes if n.processing_status in S.terminal()]
    assert Note.objects.filter(pk__in=finished, processing_status=S.QUEUED).count() == 5
    assert Note.objects.get(pk=notes[2].pk).processing_status == S.PROCESSING
    assert Note.objects.get(pk=other.pk).processing_status == S.COMPLETED


def test_a_selection_travels_to_a_job_as_its_query(user, fake_redis):
    notes = [make_note(user, f"note {i}", status=S.FAILED) for i in range(3)]
    kept = make_note(user, "done", status=S.COMPLETED)
    assert services.reprocess_later(Note.objects.filter(processing_status=S.FAILED))
    (job,) = Queue("note_maintenance", connection=fake_redis).jobs
    assert job.func_name == services.REPROCESS_FUNC
    assert Note.objects.filter(processing_status=S.QUEUED).count() == 0  # not yet

    # What the job (enrichment.jobs.reprocess_job) runs.
    assert services.reprocess_query(*job.args, **job.kwargs) == 3
    assert set(Note.objects.filter(processing_status=S.QUEUED).values_list("pk", flat=True)) == {
        n.pk for n in notes
    }
    assert Note.objects.get(pk=kept.pk).processing_status == S.COMPLETED


def test_reprocess_later_reports_a_redis_outage(user, monkeypatch):
    class Down:
        def enqueue(self, *args, **kwargs):
            raise RedisConnectionError("down")

    monkeypatch.setattr(services.django_rq, "get_queue", lambda name: Down())
    assert services.reprocess_later(Note.objects.all()) is False
