"""Bulk reprocessing in chunks: two statements per chunk, one pipelined enqueue per chunk."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rq import Queue

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


def test_a_chunk_costs_two_statements_whatever_the_mix_of_statuses(
    user, fake_redis, django_capture_on_commit_callbacks
):
    notes = [make_note(user, f"n{i}", status=s) for i, s in enumerate(sorted(S.terminal()) * 3)]
    with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as q:
        services.reprocess_notes([n.pk for n in notes])
    statements = [x["sql"] for x in q.captured_queries if "notes_note" in x["sql"]]
    assert len(statements) == 2, statements
    assert statements[0].startswith("SELECT") and statements[1].startswith("UPDATE")


def test_the_log_names_how_many_notes_left_each_status(user, fake_redis, caplog):
    for i, status in enumerate([S.COMPLETED, S.COMPLETED, S.ERROR]):
        make_note(user, f"n{i}", status=status)
    with caplog.at_level(logging.INFO, logger="notes.status"):
        services.reprocess_notes(Note.objects.values_list("pk", flat=True))
    messages = [r.getMessage() for r in caplog.records]
    assert "2 notes: completed -> queued (bulk reprocess)" in messages
    assert "1 notes: error -> queued (bulk reprocess)" in messages
