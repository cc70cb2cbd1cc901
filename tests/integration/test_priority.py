"""One person's backlog never starves others, and bulk work never delays fresh notes: a
real worker, listening on every queue as the README says."""

import time

import pytest
from django.conf import settings
from rq import Queue

from enrichment.models import EnrichmentRun
from notes import services
from notes.models import Note, content_hash
from notes.status import ProcessingStatus
from tests.factories import make_user
from tests.support.workers import LiveWorker, wait_until

S = ProcessingStatus
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BACKLOG = 1_000
WORKER = {
    "ENRICHMENT_BACKEND": "tests.support.enrichers.CountingEnricher",
    "TEST_ENRICH_DELAY": 0.05,
}


def finished_notes(owner, count):
    notes = Note.objects.bulk_create(
        Note(
            owner=owner,
            content=f"Old note {i}.",
            content_hash=content_hash(f"Old note {i}."),
            processing_status=S.COMPLETED,
        )
        for i in range(count)
    )
    return [n.pk for n in notes]


def started_within(note_id, seconds):
    start = time.monotonic()
    wait_until(
        lambda: EnrichmentRun.objects.filter(note_id=note_id).exists(),
        timeout=seconds,
        message=f"note {note_id} waited behind another person's backlog",
    )
    return time.monotonic() - start


@pytest.mark.slow
def test_two_people_one_with_a_thousand_queued_notes_the_others_start_within_seconds(
    redis_conn,
):
    busy, other = make_user("busy"), make_user("other")
    backlog = finished_notes(busy, BACKLOG)
    (waiting,) = finished_notes(other, 1)
    assert services.reprocess_notes(backlog) == BACKLOG
    # Database first: Redis holds one batch, not the backlog.
    bulk_queue = Queue(settings.ENRICHMENT_BULK_QUEUE, connection=redis_conn)
    assert bulk_queue.count <= services.FEED_BATCH + 1

    with LiveWorker(**WORKER):
        wait_until(
            lambda: EnrichmentRun.objects.filter(note_id__in=backlog).count() >= 3,
            timeout=60,
            message="the worker never started on the backlog",
        )
        # The other person reprocesses a note: the feeder takes it in its next batch,
        # ahead of every note of the busy person but one per batch.
        assert services.reprocess_notes([waiting]) == 1
        started_within(waiting, 15)
        # And writes a new one: the main queue, before any bulk work.
        fresh = services.create_note(owner=other, content="Written just now, enrich me first.")
        started_within(fresh.pk, 10)

    assert EnrichmentRun.objects.filter(note_id__in=backlog).count() < BACKLOG / 2


@pytest.mark.slow
def test_a_fresh_note_is_picked_before_the_bulk_backlog(redis_conn):
    owner = make_user()
    backlog = finished_notes(owner, BACKLOG)
    assert services.reprocess_notes(backlog) == BACKLOG

    with LiveWorker(**WORKER):
        wait_until(
            lambda: EnrichmentRun.objects.filter(note_id__in=backlog).count() >= 3,
            timeout=60,
            message="the worker never started on the backlog",
        )
        fresh = services.create_note(owner=owner, content="Written just now, enrich me first.")
        wait_until(
            lambda: Note.objects.get(pk=fresh.pk).processing_status == S.COMPLETED,
            timeout=30,
            message="the fresh note waited behind the backlog",
        )

    fresh_run = EnrichmentRun.objects.get(note_id=fresh.pk)
    backlog_runs = EnrichmentRun.objects.filter(note_id__in=backlog)
    # At most the one backlog job the worker had already taken started in between.
    overtook = backlog_runs.filter(
        started_at__gt=fresh.created_at, started_at__lt=fresh_run.started_at
    )
    assert overtook.count() <= 1
