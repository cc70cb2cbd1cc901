"""The pipeline's single-statement claim and store (PostgreSQL) keep the fences of
transition(), and leave exactly what the portable, statement-by-statement path leaves."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrichment import pipeline, statements
from enrichment.enrichers import EnrichmentResult
from enrichment.models import EnrichmentRun, RunOutcome
from enrichment.schema import Enrichment
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note

S = ProcessingStatus
pytestmark = pytest.mark.django_db

RESULT = EnrichmentResult(
    Enrichment(
        title="Quarterly zeppelin review",
        summary="Review the zeppelin fleet.",
        tags=["fleet"],
        action_items=["Book the hangar"],
        language="en",
    ),
    backend="stub",
    model="stub-model",
    input_tokens=120,
    output_tokens=40,
    provider_calls=1,
    prompt_version="v9",
)


def queued(user, job_id="job-1", **fields):
    return make_note(user, "Review the fleet.", status=S.QUEUED, job_id=job_id, **fields)


def use_result(monkeypatch, result=RESULT):
    class Stub:
        name = "stub"

        def enrich(self, content, **context):
            return result

    monkeypatch.setattr(pipeline, "get_enricher", lambda: Stub())


def test_the_claim_moves_the_note_and_opens_a_running_run_in_one_statement(user):
    note = queued(user, attempts=2, retry_at="2026-01-01T00:00:00Z", status_detail="retry 2")
    token = uuid.uuid4()
    with CaptureQueriesContext(connection) as queries:
        claimed = statements.claim(note.pk, "job-1", token, "stub")
    assert len(queries) == 1
    assert (claimed.content, claimed.content_hash, claimed.attempts) == (
        note.content,
        note.content_hash,
        3,
    )
    note.refresh_from_db()
    assert note.processing_status == S.PROCESSING
    assert note.processing_token == token
    assert note.retry_at is None and note.status_detail == ""
    run = EnrichmentRun.objects.get(pk=claimed.run_id)
    assert (run.note_id, run.attempt, run.job_id, run.backend, run.outcome) == (
        note.pk,
        3,
        "job-1",
        "stub",
        RunOutcome.RUNNING,
    )
    assert run.content_hash == note.content_hash and run.started_at is not None


@pytest.mark.parametrize(
    ("status", "job_id"),
    [(S.QUEUED, "another-job"), (S.PROCESSING, "job-1"), (S.COMPLETED, "job-1")],
)
def test_the_claim_takes_only_a_queued_note_waiting_for_this_job(user, status, job_id):
    note = make_note(user, "Review the fleet.", status=status, job_id="job-1")
    before = Note.objects.values().get(pk=note.pk)
    assert statements.claim(note.pk, job_id, uuid.uuid4(), "stub") is None
    assert Note.objects.values().get(pk=note.pk) == before
    assert not EnrichmentRun.objects.exists()


def test_a_claim_without_a_job_id_takes_any_queued_note(user):
    note = queued(user)
    assert statements.claim(note.pk, None, uuid.uuid4(), "stub") is not None
    assert EnrichmentRun.objects.get(note=note).job_id == ""


def test_the_store_completes_the_note_and_closes_the_run_in_one_statement(user):
    note = queued(user, ignore_cache=True, last_error="old")
    token = uuid.uuid4()
    claimed = statements.claim(note.pk, "job-1", token, "stub")
    with CaptureQueriesContext(connection) as queries:
        stored = statements.store(
            note.pk,
            token,
            data={"title": "Zeppelin", "tags": ["fleet"]},
            content_hash=claimed.content_hash,
            run_id=claimed.run_id,
            duration_ms=12,
            run_fields={"input_tokens": 120, "model": "stub-model"},
        )
    assert stored is True
    assert len(queries) == 1
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.enrichment_data == {"title": "Zeppelin", "tags": ["fleet"]}
    assert note.enriched_hash == note.content_hash and note.processed_at is not None
    assert note.processing_token is None and note.last_error == "" and not note.ignore_cache
    run = EnrichmentRun.objects.get(pk=claimed.run_id)
    assert (run.outcome, run.duration_ms, run.input_tokens, run.model) == (
        RunOutcome.COMPLETED,
        12,
        120,
        "stub-model",
    )
    assert run.finished_at is not None
    # The search trigger saw the new enrichment.
    assert Note.objects.filter(pk=note.pk, search_vector="zeppelin").exists()


def test_a_store_with_a_stale_token_changes_nothing_and_marks_the_run_superseded(user):
    note = queued(user)
    claimed = statements.claim(note.pk, "job-1", uuid.uuid4(), "stub")
    newer = uuid.uuid4()
    Note.objects.filter(pk=note.pk).update(processing_token=newer)  # the reaper took over
    before = Note.objects.values().get(pk=note.pk)
    stored = statements.store(
        note.pk,
        uuid.uuid4(),
        data={"title": "late"},
        content_hash=claimed.content_hash,
        run_id=claimed.run_id,
        duration_ms=5,
        run_fields={},
    )
    assert stored is False
    assert Note.objects.values().get(pk=note.pk) == before
    assert EnrichmentRun.objects.get(pk=claimed.run_id).outcome == RunOutcome.SUPERSEDED


def _outcome(note_pk):
    note = Note.objects.values(
        "processing_status",
        "attempts",
        "enrichment_data",
        "enriched_hash",
        "processing_token",
        "last_error",
        "status_detail",
        "ignore_cache",
        "retry_at",
    ).get(pk=note_pk)
    run = EnrichmentRun.objects.filter(note_id=note_pk).values(
        "attempt",
        "job_id",
        "backend",
        "model",
        "prompt_version",
        "content_hash",
        "input_tokens",
        "output_tokens",
        "provider_calls",
        "outcome",
        "error_kind",
        "error_message",
    )
    return note, list(run)


def test_both_paths_leave_the_same_note_and_run_history(user, monkeypatch):
    use_result(monkeypatch)
    fast, portable = queued(user, attempts=1), queued(user, attempts=1)
    with CaptureQueriesContext(connection) as fast_queries:
        assert pipeline.run(fast.pk, "job-1") == "completed"
    monkeypatch.setattr(statements, "available", lambda: False)
    with CaptureQueriesContext(connection) as portable_queries:
        assert pipeline.run(portable.pk, "job-1") == "completed"
    assert _outcome(fast.pk) == _outcome(portable.pk)
    # Beyond the claim and store: the owner's choices and vocabulary (2), the tag merge
    # (2, in a savepoint here: the test runs inside a transaction).
    assert (len(fast_queries), len(portable_queries)) == (2 + 6, 5 + 6)
