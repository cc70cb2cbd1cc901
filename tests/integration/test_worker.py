"""The whole pipeline with real parts: the configured database, a real Redis and real
`manage.py rqworker` processes (design document section 4.2, and the failure paths)."""

import pytest
from django.conf import settings
from rq import Queue

from notes import delivery, services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_user
from tests.support.enrichers import CALLS_KEY
from tests.support.workers import LiveWorker, run_burst_worker, wait_until

S = ProcessingStatus
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

COUNTING = "tests.support.enrichers.CountingEnricher"


def calls(redis_conn):
    return int(redis_conn.get(CALLS_KEY) or 0)


def test_a_saved_note_is_enriched_by_a_worker_process(redis_conn):
    note = services.create_note(owner=make_user(), content="Draft the release notes for 2.0.")
    assert Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).job_ids == [note.job_id]

    result = run_burst_worker()
    assert result.returncode == 0, result.stderr

    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.enrichment_data["title"] == "Draft the release notes for 2.0"
    assert note.enrichment_data["action_items"] == ["Draft the release notes for 2.0"]
    assert note.processed_at is not None
    job = Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).fetch_job(note.job_id)
    assert job.get_status() == "finished"


def test_an_enricher_failure_ends_failed_with_the_reason(redis_conn):
    note = services.create_note(owner=make_user(), content="Anything at all here.")
    run_burst_worker(ENRICHMENT_BACKEND="tests.support.enrichers.FailingEnricher")
    note.refresh_from_db()
    assert note.processing_status == S.FAILED
    assert note.last_error == "The model refused this note."
    assert calls(redis_conn) == 1


def test_an_unexpected_exception_ends_error_and_lands_in_rqs_failed_registry(redis_conn):
    note = services.create_note(owner=make_user(), content="Anything at all here.")
    run_burst_worker(ENRICHMENT_BACKEND="tests.support.enrichers.CrashingEnricher")
    note.refresh_from_db()
    assert note.processing_status == S.ERROR
    assert note.last_error == "RuntimeError: enricher exploded"
    failed = Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).failed_job_registry
    assert failed.get_job_ids() == [note.job_id]
    job = Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).fetch_job(note.job_id)
    assert "enricher exploded" in job.latest_result().exc_string


def test_a_note_deleted_before_its_job_runs_ends_the_job_quietly(redis_conn):
    note = services.create_note(owner=make_user(), content="Soon gone.")
    Note.objects.filter(pk=note.pk).delete()
    result = run_burst_worker(ENRICHMENT_BACKEND=COUNTING)
    assert result.returncode == 0
    queue = Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn)
    assert queue.fetch_job(note.job_id).get_status() == "finished"
    assert queue.failed_job_registry.count == 0
    assert calls(redis_conn) == 0


def test_redis_down_at_save_time_then_the_feeder_delivers(redis_conn, settings):
    live_queues = settings.RQ_QUEUES
    settings.RQ_QUEUES = {
        name: {**conf, "URL": "redis://127.0.0.1:1/0?socket_connect_timeout=0.5"}
        for name, conf in live_queues.items()
    }
    note = services.create_note(owner=make_user(), content="Written while Redis is down.")
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.job_id == ""

    settings.RQ_QUEUES = live_queues
    assert services.feed() == 1
    run_burst_worker()
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED


def test_duplicate_requests_and_deliveries_give_one_enrichment(redis_conn):
    note = services.create_note(owner=make_user(), content="Count my enrichments, please.")
    first_job = note.job_id
    assert services.reprocess_note(note.pk) is False  # still queued: nothing new
    # A stray duplicate delivery of an old job id, as a double enqueue would produce.
    delivery.dispatch(note.pk, first_job)
    delivery.dispatch(note.pk, f"note-{note.pk}-stale")
    run_burst_worker(ENRICHMENT_BACKEND=COUNTING)
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert calls(redis_conn) == 1


def test_content_edited_while_queued_is_enriched_once_with_the_final_text(redis_conn):
    note = services.create_note(owner=make_user(), content="First draft of the plan.")
    services.update_note(note, content="Final plan: ship on Friday.")
    run_burst_worker(ENRICHMENT_BACKEND=COUNTING)
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.enrichment_data["title"] == "Final plan: ship on Friday"
    assert note.enriched_hash == note.content_hash
    assert calls(redis_conn) == 1


@pytest.mark.slow
def test_a_transient_fault_is_retried_by_the_scheduler(redis_conn):
    note = services.create_note(owner=make_user(), content="Retry me once, then succeed.")
    with LiveWorker(ENRICHMENT_BACKEND="tests.support.enrichers.FlakyEnricher"):
        wait_until(
            lambda: Note.objects.get(pk=note.pk).processing_status == S.COMPLETED,
            timeout=60,
            message="waiting for the retried note to complete",
        )
    note.refresh_from_db()
    assert note.attempts == 2
    assert calls(redis_conn) == 2
