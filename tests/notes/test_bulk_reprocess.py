"""Bulk reprocessing in chunks: one statement per chunk (PostgreSQL), one enqueue per chunk."""

import logging
import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rq import Queue

from enrichment import queue as delivery
from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note

S = ProcessingStatus
pytestmark = pytest.mark.django_db


def test_every_chunk_is_queued_with_its_own_jobs_and_active_notes_are_skipped(
    user, fake_redis, django_capture_on_commit_callbacks
):
    statuses = [S.COMPLETED, S.FAILED, S.PROCESSING, S.ERROR, S.COMPLETED, S.QUEUED, S.FAILED]
    notes = [make_note(user, f"note {i}", status=s) for i, s in enumerate(statuses)]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        count = services.reprocess_notes([n.pk for n in notes], chunk_size=3)
    assert count == 5
    assert len(callbacks) == 3  # one enqueue per chunk that moved something
    jobs = Queue("note_enrichment_bulk", connection=fake_redis).job_ids
    finished = [n for n in notes if n.processing_status in S.terminal()]
    assert sorted(jobs) == sorted(Note.objects.get(pk=n.pk).job_id for n in finished)
    for note in Note.objects.filter(pk__in=[n.pk for n in finished]):
        assert note.processing_status == S.QUEUED
        assert note.job_id.startswith(f"note-{note.pk}-")
    untouched = {n.pk: n.processing_status for n in notes if n not in finished}
    assert dict(Note.objects.filter(pk__in=untouched).values_list("pk", "processing_status")) == (
        untouched
    )


def test_a_chunk_costs_one_statement_on_postgresql_whatever_the_mix_of_statuses(
    user, fake_redis, django_capture_on_commit_callbacks
):
    notes = [make_note(user, f"n{i}", status=s) for i, s in enumerate(sorted(S.terminal()) * 3)]
    with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as q:
        assert services.reprocess_notes([n.pk for n in notes]) == len(notes)
    statements = [x["sql"].strip() for x in q.captured_queries if "notes_note" in x["sql"]]
    # Lock and update in one round trip: an UPDATE whose CTE locks the rows.
    assert len(statements) == 1, statements
    assert statements[0].startswith("WITH") and "FOR UPDATE" in statements[0]
    assert "UPDATE" in statements[0] and "RETURNING" in statements[0]


def test_the_log_names_how_many_notes_left_each_status(user, fake_redis, caplog):
    for i, status in enumerate([S.COMPLETED, S.COMPLETED, S.ERROR]):
        make_note(user, f"n{i}", status=status)
    with caplog.at_level(logging.INFO, logger="notes.status"):
        services.reprocess_notes(Note.objects.values_list("pk", flat=True))
    messages = [r.getMessage() for r in caplog.records]
    assert "2 notes: completed -> queued (bulk reprocess)" in messages
    assert "1 notes: error -> queued (bulk reprocess)" in messages


def test_a_requeue_resets_what_a_single_reprocess_resets_and_gives_fresh_job_ids(
    user, fake_redis, django_capture_on_commit_callbacks
):
    before = timezone.now()
    stale = {
        "attempts": 3,
        "reap_count": 2,
        "retry_at": before,
        "last_error": "boom",
        "status_detail": "gave up",
        "processing_token": uuid.uuid4(),
        "job_id": "note-0-old",
        "status_changed_at": before - timedelta(days=1),
    }
    notes = [make_note(user, f"n{i}", status=S.FAILED, **stale) for i in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reprocess_notes([n.pk for n in notes], ignore_cache=True) == 4
    moved = list(Note.objects.filter(pk__in=[n.pk for n in notes]))
    for note in moved:
        assert note.processing_status == S.QUEUED
        assert re.fullmatch(rf"note-{note.pk}-[0-9a-f]{{16}}", note.job_id)
        assert (note.attempts, note.reap_count, note.retry_at) == (0, 0, None)
        assert (note.last_error, note.status_detail, note.processing_token) == ("", "", None)
        assert note.ignore_cache is True
        assert note.status_changed_at >= before
    assert len({n.job_id for n in moved}) == 4
    assert sorted(Queue("note_enrichment_bulk", connection=fake_redis).job_ids) == sorted(
        n.job_id for n in moved
    )


def failing_second_chunk(monkeypatch, seen: list):
    """Make the second enqueue fail as a Redis outage would (dispatch_many returns 0)."""
    real = delivery.dispatch_many

    def dispatch_many(pairs, **kwargs):
        seen.append((threading.current_thread(), [pk for pk, _ in pairs]))
        return 0 if len(seen) == 2 else real(pairs, **kwargs)

    monkeypatch.setattr(delivery, "dispatch_many", dispatch_many)


def assert_second_chunk_waits_for_enqueue_pending(fake_redis, notes):
    queue = Queue("note_enrichment_bulk", connection=fake_redis)
    notes = list(Note.objects.filter(pk__in=[n.pk for n in notes]).order_by("pk"))
    assert all(n.processing_status == S.QUEUED for n in notes)
    assert [n.job_id for n in notes[2:4]] == ["", ""]  # forgotten: never reached Redis
    assert queue.job_ids == [n.job_id for n in notes[:2] + notes[4:]]
    assert services.enqueue_pending() == 2
    redelivered = Note.objects.filter(pk__in=[n.pk for n in notes[2:4]]).order_by("pk")
    assert Queue("note_enrichment", connection=fake_redis).job_ids == [
        n.job_id for n in redelivered
    ]


def test_a_chunk_whose_enqueue_fails_forgets_its_job_ids_for_enqueue_pending(
    user, fake_redis, monkeypatch, django_capture_on_commit_callbacks
):
    notes = [make_note(user, f"n{i}", status=S.COMPLETED) for i in range(5)]
    seen = []
    real = delivery.dispatch_many
    failing_second_chunk(monkeypatch, seen)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reprocess_notes([n.pk for n in notes], chunk_size=2) == 5
    # Inside the caller's transaction each chunk is enqueued in the caller's thread.
    assert [thread for thread, _ in seen] == [threading.current_thread()] * 3
    monkeypatch.setattr(delivery, "dispatch_many", real)
    assert_second_chunk_waits_for_enqueue_pending(fake_redis, notes)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_chunks_are_enqueued_in_the_background_after_commit(
    user, fake_redis, monkeypatch
):
    notes = [make_note(user, f"n{i}", status=S.COMPLETED) for i in range(5)]
    seen, committed = [], []
    real = delivery.dispatch_many
    failing_second_chunk(monkeypatch, seen)
    failing = delivery.dispatch_many

    def dispatch_many(pairs, **kwargs):
        # A connection of this thread's own sees only what has been committed.
        ids = [pk for pk, _ in pairs]
        committed.append(
            dict(Note.objects.filter(pk__in=ids).values_list("pk", "job_id")) == dict(pairs)
        )
        connection.close()
        return failing(pairs, **kwargs)

    monkeypatch.setattr(delivery, "dispatch_many", dispatch_many)

    assert services.reprocess_notes([n.pk for n in notes], chunk_size=2) == 5

    assert committed == [True, True, True]
    assert [ids for _, ids in seen] == [[n.pk for n in notes[i : i + 2]] for i in (0, 2, 4)]
    assert all(t.name.startswith("bulk-enqueue") for t, _ in seen)
    monkeypatch.setattr(delivery, "dispatch_many", real)
    assert_second_chunk_waits_for_enqueue_pending(fake_redis, notes)


def test_the_chunk_is_found_by_primary_key_even_with_statistics_from_before_a_status_change(
    user, fake_redis, django_capture_on_commit_callbacks
):
    notes = [make_note(user, f"n{i}", status=S.QUEUED) for i in range(300)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notes_note")  # statistics: no note is finished
    Note.objects.update(processing_status=S.COMPLETED)
    with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as q:
        services.reprocess_notes([n.pk for n in notes[:50]])
    (statement,) = [x["sql"] for x in q.captured_queries if "notes_note" in x["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert "notes_note_pkey" in plan, plan
    assert "note_status_age_idx" not in plan, plan
