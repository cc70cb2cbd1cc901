"""The reaper against a real Redis: which notes it repairs, which it must leave alone."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rq.executions import Execution
from rq.job import Job, JobStatus

from enrichment import reaper
from enrichment.models import EnrichmentRun, RunOutcome
from notes import delivery
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


def running(job, ttl=60):
    """Put the job in its started registry for ``ttl`` seconds, as a worker's heartbeat
    does."""
    with job.connection.pipeline() as pipe:
        Execution.create(job, ttl, pipe, worker_name="worker-1")
        pipe.execute()


def taken_off_the_queue():
    delivery.get_connection().delete(delivery.get_queue().key)


def queue_job_ids():
    return delivery.get_queue().job_ids


def bulk_note_job_ids():
    return [j for j in delivery.get_queue(bulk=True).job_ids if j.startswith("note-")]


def a_while_ago(note, seconds=10):
    Note.objects.filter(pk=note.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=seconds)
    )
    note.refresh_from_db()
    return note


def test_a_processing_note_whose_job_vanished_is_queued_again_under_a_new_job(db, redis_conn):
    note = processing_note()
    old_job = note.job_id

    report = reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.job_id not in ("", old_job)
    assert note.processing_token is None
    assert note.reap_count == 1
    assert "its job is not running" in note.status_detail
    assert queue_job_ids() == [note.job_id]
    run = EnrichmentRun.objects.get(note=note)
    assert run.outcome == RunOutcome.ABANDONED
    assert run.finished_at is not None
    assert report.requeued == 1


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.STARTED])
def test_a_job_that_ended_or_whose_worker_died_is_requeued(db, redis_conn, status):
    note = processing_note()
    enqueued_job(note, status)
    taken_off_the_queue()

    assert reaper.reap().requeued == 1
    assert Note.objects.get(pk=note.pk).processing_status == S.QUEUED


def test_a_job_whose_heartbeats_expired_is_requeued(db, redis_conn):
    note = processing_note()
    job = enqueued_job(note, JobStatus.STARTED)
    taken_off_the_queue()
    running(job, ttl=1)
    time.sleep(1.1)  # the worker stopped refreshing it: the entry expired

    assert reaper.reap().requeued == 1


def test_a_slow_job_whose_worker_keeps_it_alive_is_left_alone(db, redis_conn):
    note = processing_note(age=600)
    job = enqueued_job(note, JobStatus.STARTED)
    taken_off_the_queue()
    running(job)

    assert reaper.reap().requeued == 0

    assert Note.objects.get(pk=note.pk).processing_status == S.PROCESSING
    assert EnrichmentRun.objects.get(note=note).outcome == RunOutcome.RUNNING


def test_right_after_a_redis_restart_a_missing_job_is_not_yet_believed(db, redis_conn, monkeypatch):
    monkeypatch.setattr(reaper, "_redis_uptime", lambda conn: 1.0)
    note = processing_note()

    assert reaper.reap().requeued == 0
    assert Note.objects.get(pk=note.pk).processing_status == S.PROCESSING


def test_a_note_processing_past_stuck_after_is_requeued_whatever_redis_says(
    db, redis_conn, settings, monkeypatch
):
    monkeypatch.setattr(reaper, "_redis_uptime", lambda conn: 1.0)
    settings.ENRICHMENT_STUCK_AFTER = 60
    note = processing_note(age=120)
    running(enqueued_job(note, JobStatus.STARTED))

    assert reaper.reap().requeued == 1
    assert "longer than ENRICHMENT_STUCK_AFTER" in Note.objects.get(pk=note.pk).status_detail


def test_after_max_reaps_the_note_is_error_with_what_happened(db, redis_conn, settings):
    settings.ENRICHMENT_MAX_REAPS = 2
    note = processing_note(reap_count=2)

    report = reaper.reap()

    note.refresh_from_db()
    assert report.errored == 1
    assert note.processing_status == S.ERROR
    assert note.last_error.startswith("Gave up after 2 lost attempt(s)")
    assert "Reprocess the note" in note.last_error
    assert queue_job_ids() == []


def test_a_queued_note_without_a_job_is_delivered_by_the_feeder(db, redis_conn):
    note = a_while_ago(make_note(status=S.QUEUED, job_id=""))

    reaper.reap()

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert bulk_note_job_ids() == [note.job_id]


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.QUEUED])
def test_a_queued_note_whose_job_left_its_queue_without_claiming_it_is_delivered(
    db, redis_conn, status
):
    # FAILED: it ended before the claim. QUEUED: a worker took it off the queue and died
    # before starting it; RQ keeps no record of such a job.
    note = a_while_ago(make_note(status=S.QUEUED, job_id="note-1-aaaa"))
    enqueued_job(note, status)
    taken_off_the_queue()

    assert reaper.reap().delivered == 1
    note.refresh_from_db()
    assert note.job_id != "note-1-aaaa"
    assert bulk_note_job_ids() == [note.job_id]


def test_queued_notes_that_are_on_their_way_are_left_alone(db, redis_conn):
    waiting = a_while_ago(make_note(status=S.QUEUED, job_id="note-1-bbbb"))
    enqueued_job(waiting)
    starting = a_while_ago(make_note(status=S.QUEUED, job_id="note-2-cccc"))
    running(enqueued_job(starting, JobStatus.STARTED))
    retrying = make_note(status=S.QUEUED, job_id="", retry_at=timezone.now() + timedelta(hours=1))
    fresh = make_note(status=S.QUEUED, job_id="note-3-dddd")  # still in its on-commit hook

    assert reaper.reap().delivered == 0
    for note in (waiting, starting, retrying, fresh):
        assert Note.objects.get(pk=note.pk).job_id == note.job_id


def test_a_retry_overdue_because_no_scheduler_runs_is_delivered(db, redis_conn):
    note = a_while_ago(
        make_note(status=S.QUEUED, retry_at=timezone.now() - timedelta(minutes=5)), seconds=360
    )
    job_id = delivery.new_job_id(note.pk)
    Note.objects.filter(pk=note.pk).update(job_id=job_id)
    assert delivery.dispatch(note.pk, job_id, delay=3600)  # sits in the scheduled registry

    assert reaper.reap().delivered == 1
    assert Note.objects.get(pk=note.pk).job_id in bulk_note_job_ids()


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
    assert f"note {note.pk}: its job is not running" in out
    assert "1 lost attempt(s) queued again" in out


def test_enqueue_pending_is_the_reapers_run(db, redis_conn, capsys):
    a_while_ago(make_note(status=S.QUEUED, job_id="note-1-lost-in-a-restart"))
    call_command("enqueue_pending")
    assert "1 queued note(s) delivered" in capsys.readouterr().out
    assert len(bulk_note_job_ids()) == 1


def test_the_cron_config_runs_the_reaper_every_interval(settings):
    from django_rq.cron import DjangoCronScheduler

    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file("enrichment.cron")
    (job,) = scheduler.get_jobs()
    assert job.func is reaper.run_reaper
    assert job.interval == settings.ENRICHMENT_REAPER_INTERVAL
    assert job.queue_name == settings.ENRICHMENT_MAINTENANCE_QUEUE
