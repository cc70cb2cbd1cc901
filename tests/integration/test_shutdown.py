"""A deploy stops workers with SIGTERM: no note may be left PROCESSING by it."""

import signal
import time

import pytest
from django.conf import settings
from rq import Queue

from enrichment.models import EnrichmentRun, RunOutcome
from enrichment.reaper import reap
from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_user
from tests.support.workers import LiveWorker, run_burst_worker, wait_until

S = ProcessingStatus
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COUNTING = "tests.support.enrichers.CountingEnricher"


def status(note):
    return Note.objects.get(pk=note.pk).processing_status


def test_sigterm_lets_the_running_job_finish_within_the_grace_period(redis_conn):
    note = services.create_note(owner=make_user(), content="Finish me before you go.")
    with LiveWorker(
        ENRICHMENT_BACKEND=COUNTING,
        TEST_ENRICH_DELAY=1.5,
        ENRICHMENT_SHUTDOWN_GRACE=10,
    ) as worker:
        wait_until(lambda: status(note) == S.PROCESSING, timeout=20)
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(15) == 0

    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.enriched_hash == note.content_hash


def test_sigterm_puts_a_job_that_outlasts_the_grace_period_back_to_queued(redis_conn):
    note = services.create_note(owner=make_user(), content="Too slow for this deploy.")
    with LiveWorker(
        ENRICHMENT_BACKEND=COUNTING,
        TEST_ENRICH_DELAY=30,
        ENRICHMENT_SHUTDOWN_GRACE=1,
    ) as worker:
        wait_until(lambda: status(note) == S.PROCESSING, timeout=20)
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(10) == 0  # long before the 30 s call would end

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.attempts == 0  # not the note's fault: the retry budget is untouched
    assert note.processing_token is None
    assert "shut down" in note.status_detail
    assert Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).job_ids == [note.job_id]
    assert EnrichmentRun.objects.get(note=note).outcome == RunOutcome.ABANDONED

    # The next worker (after the deploy) finishes it.
    run_burst_worker(ENRICHMENT_BACKEND=COUNTING)
    assert status(note) == S.COMPLETED


def test_a_second_sigterm_stops_at_once_and_the_reaper_queues_the_note_again(redis_conn):
    note = services.create_note(owner=make_user(), content="Stop now, not in a minute.")
    with LiveWorker(
        ENRICHMENT_BACKEND=COUNTING,
        TEST_ENRICH_DELAY=30,
        ENRICHMENT_SHUTDOWN_GRACE=60,
        WORKER_LIVENESS_TTL=3,
    ) as worker:
        wait_until(lambda: status(note) == S.PROCESSING, timeout=20)
        worker.process.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # RQ ignores a repeated signal within a second
        worker.process.send_signal(signal.SIGTERM)  # RQ's cold shutdown kills the horse
        worker.process.wait(10)  # long before the grace period or the call end

    time.sleep(3.5)  # the job's started-registry entry expires without heartbeats
    assert reap().requeued == 1
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert EnrichmentRun.objects.get(note=note).outcome == RunOutcome.ABANDONED
    assert Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).job_ids == [note.job_id]
