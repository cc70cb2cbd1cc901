"""Saving notes and asking for enrichment: what reaches the queue, and when."""

import logging

import pytest
from django.db import transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from notes import services
from notes.models import content_hash
from notes.status import ProcessingStatus
from tests.factories import make_note

S = ProcessingStatus
pytestmark = pytest.mark.django_db


def queued_job_ids(conn, name="note_enrichment"):
    return Queue(name, connection=conn).job_ids


def test_a_new_note_is_queued_and_enqueued_after_commit(
    user, fake_redis, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = services.create_note(owner=user, content="Buy milk and call Anna.")
        assert queued_job_ids(fake_redis) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.content_hash == content_hash("Buy milk and call Anna.")
    assert queued_job_ids(fake_redis) == [note.job_id]
    job = Queue("note_enrichment", connection=fake_redis).fetch_job(note.job_id)
    assert job.func_name == "enrichment.jobs.process_note_job"
    assert job.args == (note.pk,)


def test_a_rolled_back_note_is_never_enqueued(user, fake_redis):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.create_note(owner=user, content="never saved")
        raise RuntimeError
    assert queued_job_ids(fake_redis) == []


def test_saving_without_a_content_change_does_not_enqueue(
    user, fake_redis, django_capture_on_commit_callbacks
):
    note = make_note(user, "Same text", status=S.COMPLETED)
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.update_note(note, content="Same text", title="A new title")
    note.refresh_from_db()
    assert changed is False
    assert note.title == "A new title"
    assert note.processing_status == S.COMPLETED
    assert queued_job_ids(fake_redis) == []


def test_changing_the_content_of_a_finished_note_queues_it_again(
    user, fake_redis, django_capture_on_commit_callbacks
):
    note = make_note(user, "Old text", status=S.COMPLETED, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.update_note(note, content="New text") is True
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.content == "New text"
    assert note.attempts == 0
    assert queued_job_ids(fake_redis) == [note.job_id]


def test_editing_a_queued_note_does_not_add_a_second_job(
    user, fake_redis, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = services.create_note(owner=user, content="First draft")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_note(note, content="Second draft")
    note.refresh_from_db()
    assert note.content == "Second draft"
    assert queued_job_ids(fake_redis) == [note.job_id]


def test_editing_a_note_while_it_is_processing_fences_off_the_running_attempt(
    user, fake_redis, django_capture_on_commit_callbacks
):
    import uuid

    token = uuid.uuid4()
    note = make_note(user, "v1", status=S.PROCESSING, processing_token=token, job_id="old")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_note(note, content="v2")
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.processing_token is None
    assert note.job_id != "old"
    assert queued_job_ids(fake_redis) == [note.job_id]


def test_asking_twice_for_the_same_note_gives_one_job(
    user, fake_redis, django_capture_on_commit_callbacks
):
    note = make_note(user, status=S.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.reprocess_note(note.pk)
        second = services.reprocess_note(note.pk)
    assert (first, second) == (True, False)
    assert len(queued_job_ids(fake_redis)) == 1


def test_when_redis_is_down_the_note_is_saved_and_left_for_the_feeder(
    user, fake_redis, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(Queue, "enqueue_call", refuse)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        note = services.create_note(owner=user, content="Written during an outage")
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.job_id == ""
    assert any(getattr(r, "note_id", None) == note.pk for r in caplog.records)
    assert str(note.pk) in caplog.text

    monkeypatch.undo()
    monkeypatch.setattr("django_rq.queues.get_connection", lambda *args, **kwargs: fake_redis)
    assert services.feed() == 1
    note.refresh_from_db()
    assert queued_job_ids(fake_redis, "note_enrichment_bulk")[0] == note.job_id
    assert services.feed() == 0  # nothing waits any more
