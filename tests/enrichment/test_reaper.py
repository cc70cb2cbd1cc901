"""The reaper against a real Redis: which notes it repairs, which it must leave alone."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rq.job import Job, JobStatus

from enrichment import queue as delivery
from enrichment import reaper
from enrichment.models import EnrichmentRun, RunOutcome
from enrichment.worker import alive_key
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def redis_up_for_long(monkeypatch):
    """Redis has been up longer than a liveness period unless a test says otherwise."""
    monkeypatch.setattr(reaper, "_redis_uptime", lambda conn: 10_000.0)


def processing_note(job_id=None, *, age=5, reap_count=0, with_run=True, owner=None):
    job_id = job_id or f"note-x-{uuid.uuid4().hex[:16]}"
    note = make_note(
        owner,
        status=S.PROCESSING,
        job_id=job_id,
        processing_token=uuid.uuid4(),
        attempts=1,
        reap_count=reap_count,
    )
    Note.objects.filter(pk=note.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=age)
    )
    if with_run:
        EnrichmentRun.objects.create(
            note=note, attempt=1, job_id=job_id, backend="local", started_at=timezone.now()
        )
    note.refresh_from_db()
    return note


def enqueued_job(note, status=None):
    """Put the note's job in Redis (as the web side does) and give it ``status``."""
    assert delivery.dispatch(note.pk, note.job_id)
    job = Job.fetch(note.job_id, connection=delivery.get_connection())
    if status:
        job.set_status(status)
    return job


def queue_job_ids():
    return delivery.get_queue().job_ids


def test_a_processing_note_whose_job_vanished_is_queued_again_under_a_new_job(db, redis_conn):
    note = processing_note()
    old_job = note.job_id

    report = reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.job_id not in ("", old_job)
    assert note.processing_token is None
    assert note.reap_count == 1
    assert "vanished from Redis" in note.status_detail
    assert queue_job_ids() == [note.job_id]
    run = EnrichmentRun.objects.get(note=note)
    assert run.outcome == RunOutcome.ABANDONED
    assert run.finished_at is not None
    assert report.requeued == 1


def test_a_job_ended_by_a_killed_work_horse_is_requeued(db, redis_conn):
    note = processing_note()
    enqueued_job(note, JobStatus.FAILED)
    redis_conn.delete(delivery.get_queue().key)  # taken off the queue, hash kept

    reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert "ended (failed)" in note.status_detail


def test_a_started_job_whose_worker_stopped_heartbeating_is_requeued(db, redis_conn):
    note = processing_note()
    enqueued_job(note, JobStatus.STARTED)
    redis_conn.delete(delivery.get_queue().key)  # taken off the queue, hash kept

    reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert "stopped sending heartbeats" in note.status_detail


def test_a_slow_job_whose_worker_keeps_it_alive_is_left_alone(db, redis_conn):
    note = processing_note()
    enqueued_job(note, JobStatus.STARTED)
    redis_conn.set(alive_key(note.job_id), "worker-1", ex=60)

    assert reaper.reap().requeued == 0

    assert Note.objects.get(pk=note.pk).processing_status == S.PROCESSING
    assert EnrichmentRun.objects.get(note=note).outcome == RunOutcome.RUNNING


def test_a_live_mark_protects_a_job_even_when_its_hash_was_lost(db, redis_conn):
    note = processing_note()  # no job hash: Redis lost it, the worker re-marked it
    redis_conn.set(alive_key(note.job_id), "worker-1", ex=60)

    reaper.reap()

    assert Note.objects.get(pk=note.pk).processing_status == S.PROCESSING


def test_right_after_a_redis_restart_a_missing_job_is_not_yet_believed(db, redis_conn, monkeypatch):
    monkeypatch.setattr(reaper, "_redis_uptime", lambda conn: 1.0)
    note = processing_note()

    reaper.reap()

    assert Note.objects.get(pk=note.pk).processing_status == S.PROCESSING


def test_a_note_processing_past_stuck_after_is_requeued_whatever_redis_says(
    db, redis_conn, settings
):
    note = processing_note(age=settings.ENRICHMENT_STUCK_AFTER + 5)
    enqueued_job(note, JobStatus.STARTED)
    redis_conn.set(alive_key(note.job_id), "worker-1", ex=60)

    reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert "ENRICHMENT_STUCK_AFTER" in note.status_detail


def test_after_max_reaps_the_note_is_error_with_what_happened(db, redis_conn, settings):
    settings.ENRICHMENT_MAX_REAPS = 2
    note = processing_note(reap_count=2)

    report = reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.ERROR
    assert note.last_error.startswith("Gave up after 2 lost attempt(s)")
    assert "vanished from Redis" in note.last_error
    assert note.processing_token is None
    assert queue_job_ids() == []
    assert report.errored == 1
    assert EnrichmentRun.objects.get(note=note).outcome == RunOutcome.ABANDONED


def test_a_new_request_resets_the_reap_count(db, redis_conn):
    from notes import services

    note = processing_note(reap_count=2)
    Note.objects.filter(pk=note.pk).update(processing_status=S.ERROR)
    assert services.reprocess_note(note.pk)
    assert Note.objects.get(pk=note.pk).reap_count == 0


def test_a_queued_note_without_a_job_is_delivered(db, redis_conn):
    note = make_note(status=S.QUEUED, job_id="")
    Note.objects.filter(pk=note.pk).update(status_changed_at=timezone.now() - timedelta(seconds=5))

    assert reaper.reap().delivered == 1

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert queue_job_ids() == [note.job_id]


def test_a_queued_note_whose_job_failed_before_claiming_is_delivered(db, redis_conn):
    note = make_note(status=S.QUEUED, job_id="note-1-aaaa")
    Note.objects.filter(pk=note.pk).update(status_changed_at=timezone.now() - timedelta(seconds=5))
    note.refresh_from_db()
    enqueued_job(note, JobStatus.FAILED)
    redis_conn.delete(delivery.get_queue().key)  # taken off the queue, hash kept

    assert reaper.reap().delivered == 1
    assert Note.objects.get(pk=note.pk).job_id != "note-1-aaaa"


def test_queued_notes_that_are_on_their_way_are_left_alone(db, redis_conn):
    waiting = make_note(status=S.QUEUED, job_id="note-1-bbbb")
    retrying = make_note(status=S.QUEUED, job_id="", retry_at=timezone.now() + timedelta(hours=1))
    Note.objects.update(status_changed_at=timezone.now() - timedelta(seconds=5))
    enqueued_job(waiting)

    assert reaper.reap().delivered == 0

    assert Note.objects.get(pk=waiting.pk).job_id == "note-1-bbbb"
    assert Note.objects.get(pk=retrying.pk).job_id == ""
    assert queue_job_ids() == ["note-1-bbbb"]


def waiting_note(job_id):
    """A QUEUED note, older than the on-commit grace, with its job on the queue."""
    note = make_note(status=S.QUEUED, job_id=job_id)
    Note.objects.filter(pk=note.pk).update(status_changed_at=timezone.now() - timedelta(seconds=5))
    note.refresh_from_db()
    enqueued_job(note)
    return note


def age_taken_marks(redis_conn, seconds):
    """Pretend the reaper's first sightings happened ``seconds`` earlier."""
    for key in redis_conn.scan_iter(reaper.TAKEN_MARK.format("*")):
        redis_conn.set(key, float(redis_conn.get(key)) - seconds)


@pytest.mark.parametrize("pop", ["blpop", "lmove"])
def test_a_job_taken_off_the_queue_by_a_worker_that_died_before_starting_it_is_delivered(
    db, redis_conn, settings, pop
):
    note = waiting_note("note-1-cccc")
    queue = delivery.get_queue()
    # What a worker does first; then it is SIGKILLed before it marks the job started.
    if pop == "blpop":  # a worker on several queues
        assert redis_conn.blpop([queue.key], 1)[1] == b"note-1-cccc"
    else:  # a worker on one queue parks the id in RQ's intermediate list
        assert redis_conn.lmove(queue.key, queue.intermediate_queue_key) == b"note-1-cccc"
    assert Job.fetch("note-1-cccc", connection=redis_conn).get_status() == JobStatus.QUEUED

    # A worker is between pop and start for milliseconds: one sighting is not enough.
    assert reaper.reap().delivered == 0
    assert Note.objects.get(pk=note.pk).job_id == "note-1-cccc"

    age_taken_marks(redis_conn, settings.WORKER_LIVENESS_TTL)
    assert reaper.reap().delivered == 1
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.job_id != "note-1-cccc"
    assert queue_job_ids() == [note.job_id]


def test_jobs_still_on_their_queue_are_never_suspected_of_being_dropped(db, redis_conn, settings):
    first, second, third = (waiting_note(f"note-{i}-dddd") for i in (1, 2, 3))
    queue = delivery.get_queue()
    # The first was taken by a live worker that marked it started; the others wait behind.
    redis_conn.blpop([queue.key], 1)
    Job.fetch(first.job_id, connection=redis_conn).set_status(JobStatus.STARTED)
    redis_conn.set(alive_key(first.job_id), "worker-1", ex=60)
    # A job put at the front of the queue makes the ones behind it look older than the
    # head: they are looked up in the queue, found, and left alone.
    delivery.get_queue().enqueue("enrichment.jobs.process_note_job", 0, at_front=True)

    for _ in range(2):
        assert reaper.reap().delivered == 0
        age_taken_marks(redis_conn, settings.WORKER_LIVENESS_TTL)

    assert list(redis_conn.scan_iter(reaper.TAKEN_MARK.format("*"))) == []
    assert [n.job_id for n in Note.objects.order_by("pk")] == [
        "note-1-dddd",
        "note-2-dddd",
        "note-3-dddd",
    ]
    assert queue_job_ids()[1:] == [second.job_id, third.job_id]


def test_a_retry_overdue_because_no_scheduler_runs_is_delivered(db, redis_conn):
    note = make_note(status=S.QUEUED, job_id="", retry_at=timezone.now() - timedelta(minutes=5))
    Note.objects.filter(pk=note.pk).update(status_changed_at=timezone.now() - timedelta(minutes=6))
    note.refresh_from_db()
    job_id = delivery.new_job_id(note.pk)
    Note.objects.filter(pk=note.pk).update(job_id=job_id)
    assert delivery.dispatch(note.pk, job_id, delay=3600)  # sits in the scheduled registry

    assert reaper.reap().delivered == 1
    assert Note.objects.get(pk=note.pk).job_id in queue_job_ids()


@pytest.mark.django_db(transaction=True)
def test_concurrent_reapers_requeue_each_lost_attempt_exactly_once(redis_conn):
    owner = make_user()
    notes = [processing_note(owner=owner) for _ in range(20)]
    reports = []

    def run():
        try:
            reports.append(reaper.reap())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.requeued for r in reports) == 20
    assert len(queue_job_ids()) == 20
    for note in notes:
        note.refresh_from_db()
        assert note.reap_count == 1
        assert note.job_id in queue_job_ids()


def test_the_command_reports_what_it_did(db, redis_conn, capsys):
    note = processing_note()
    call_command("reap_stuck_notes")
    out = capsys.readouterr().out
    assert f"note {note.pk}: its job vanished from Redis" in out
    assert "1 lost attempt(s) queued again" in out


def test_the_cron_config_runs_the_reaper_every_interval(settings):
    from django_rq.cron import DjangoCronScheduler

    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file("enrichment.cron")
    (job,) = scheduler.get_jobs()
    assert job.func is reaper.run_reaper
    assert job.interval == settings.ENRICHMENT_REAPER_INTERVAL
    assert job.queue_name == settings.ENRICHMENT_MAINTENANCE_QUEUE


def test_every_worker_takes_the_reapers_queue_before_note_queues(settings):
    from django_rq.workers import get_worker

    worker = get_worker(settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE)
    assert worker.queue_names() == [
        settings.ENRICHMENT_MAINTENANCE_QUEUE,
        settings.ENRICHMENT_QUEUE,
        settings.ENRICHMENT_BULK_QUEUE,
    ]
