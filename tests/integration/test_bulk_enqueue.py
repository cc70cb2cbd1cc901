"""Jobs written by the bulk enqueue (enrichment.queue.dispatch_many) are the jobs dispatch()
writes, and a real worker runs them the same way: a real Redis, a real `rqworker`."""

import pytest
from django.conf import settings
from rq import Queue
from rq.job import Job
from rq.results import Result

from enrichment import queue as delivery
from enrichment.models import EnrichmentRun, RunOutcome
from notes import services
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user
from tests.support.enrichers import CALLS_KEY
from tests.support.workers import run_burst_worker

S = ProcessingStatus
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

COUNTING = "tests.support.enrichers.CountingEnricher"
# Fields that belong to one note (its pickled call, meta, description) or to one moment
# (creation, enqueueing, the run): everything else must be the same for any two note jobs.
PER_NOTE = {b"data", b"meta", b"description"}
PER_MOMENT = {b"created_at", b"enqueued_at", b"started_at", b"ended_at", b"last_heartbeat"}


def job_hash(redis_conn, job_id) -> dict:
    fields = redis_conn.hgetall(Job.key_for(job_id))
    assert fields, f"no job hash for {job_id}"
    return fields


def without(fields: dict, names: set) -> dict:
    return {k: v for k, v in fields.items() if k not in names}


def test_a_bulk_job_is_written_and_run_exactly_like_a_dispatched_one(redis_conn):
    owner = make_user()
    single = make_note(owner, "Plan the Atlas launch.", status=S.COMPLETED)
    bulk = make_note(owner, "Plan the Boreal launch.", status=S.COMPLETED)

    # What dispatch() writes for the bulk note, kept for comparison, then taken away.
    reference_id = f"note-{bulk.pk}-reference"
    assert delivery.dispatch(bulk.pk, reference_id, bulk=True)
    reference = job_hash(redis_conn, reference_id)
    Job.fetch(reference_id, connection=redis_conn).delete()

    assert services.reprocess_note(single.pk, bulk=True)  # one note: dispatch()
    assert services.reprocess_notes([bulk.pk]) == 1  # the bulk path: dispatch_many()
    single.refresh_from_db()
    bulk.refresh_from_db()

    queued = job_hash(redis_conn, bulk.job_id)
    assert without(queued, PER_MOMENT) == without(reference, PER_MOMENT)
    assert set(queued) == set(reference)
    assert without(queued, PER_NOTE | PER_MOMENT) == without(
        job_hash(redis_conn, single.job_id), PER_NOTE | PER_MOMENT
    )
    ttl = redis_conn.ttl(Job.key_for(bulk.job_id))
    assert settings.QUEUE_JOB_TTL - 30 < ttl <= settings.QUEUE_JOB_TTL
    queue = Queue(settings.ENRICHMENT_BULK_QUEUE, connection=redis_conn)
    assert queue.job_ids == [single.job_id, bulk.job_id]

    result = run_burst_worker(ENRICHMENT_BACKEND=COUNTING)
    assert result.returncode == 0, result.stderr

    assert int(redis_conn.get(CALLS_KEY) or 0) == 2
    for note in (single, bulk):
        note.refresh_from_db()
        assert note.processing_status == S.COMPLETED
        run = EnrichmentRun.objects.get(note=note)
        assert (run.job_id, run.outcome) == (note.job_id, RunOutcome.COMPLETED)
        job = queue.fetch_job(note.job_id)
        assert job.get_status() == "finished"
        assert job.latest_result().type == Result.Type.SUCCESSFUL
    assert queue.count == 0
    # After the run too, the two jobs differ only in their note and their times.
    ran_single, ran_bulk = (job_hash(redis_conn, n.job_id) for n in (single, bulk))
    assert set(ran_bulk) == set(ran_single)
    assert without(ran_bulk, PER_NOTE | PER_MOMENT) == without(ran_single, PER_NOTE | PER_MOMENT)


def test_many_chunks_reach_a_real_worker_in_order(redis_conn):
    owner = make_user()
    notes = [make_note(owner, f"Note number {i} to enrich.", status=S.COMPLETED) for i in range(7)]

    assert services.reprocess_notes([n.pk for n in notes], chunk_size=3) == 7

    queue = Queue(settings.ENRICHMENT_BULK_QUEUE, connection=redis_conn)
    for note in notes:
        note.refresh_from_db()
    assert queue.job_ids == [n.job_id for n in notes]
    result = run_burst_worker(ENRICHMENT_BACKEND=COUNTING)
    assert result.returncode == 0, result.stderr
    for note in notes:
        note.refresh_from_db()
        assert note.processing_status == S.COMPLETED
    assert int(redis_conn.get(CALLS_KEY) or 0) == 7
