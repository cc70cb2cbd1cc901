"""Bulk reprocessing never starves fresh notes: a real worker, listening on both queues as
the README says, takes a note written now before the rest of a bulk backlog."""

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

# The figure: a 10,000-note bulk reprocess must not delay a note written now.
BACKLOG = 10_000


@pytest.mark.slow
def test_a_fresh_note_is_picked_before_the_bulk_backlog(redis_conn):
    owner = make_user()
    backlog = Note.objects.bulk_create(
        Note(
            owner=owner,
            content=f"Old note {i}.",
            content_hash=content_hash(f"Old note {i}."),
            processing_status=S.COMPLETED,
        )
        for i in range(BACKLOG)
    )
    backlog_ids = [n.pk for n in backlog]
    assert services.reprocess_notes(backlog_ids, bulk=True) == BACKLOG
    bulk_queue = Queue(settings.ENRICHMENT_BULK_QUEUE, connection=redis_conn)
    assert bulk_queue.count == BACKLOG

    # A small per-job delay keeps the worker busy with the backlog while we write.
    with LiveWorker(
        ENRICHMENT_BACKEND="tests.support.enrichers.CountingEnricher", TEST_ENRICH_DELAY=0.05
    ):
        wait_until(
            lambda: EnrichmentRun.objects.filter(note_id__in=backlog_ids).count() >= 3,
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
    backlog_runs = EnrichmentRun.objects.filter(note_id__in=backlog_ids)
    # At most the one backlog job the worker had already taken started in between.
    overtook = backlog_runs.filter(
        started_at__gt=fresh.created_at, started_at__lt=fresh_run.started_at
    )
    assert overtook.count() <= 1
    assert backlog_runs.count() < BACKLOG / 2
    assert bulk_queue.count > BACKLOG / 2
