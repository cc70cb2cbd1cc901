"""One attempt, run in-process: each outcome and its fence. (Design doc section 4.1.)"""

import uuid

import pytest
from rq import Queue

from enrichment import pipeline
from enrichment.enrichers import EnrichmentResult
from enrichment.enrichers.local import LocalEnricher
from enrichment.errors import PermanentEnrichmentError, TransientEnrichmentError
from enrichment.schema import Enrichment
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note
from tests.support.enrichers import use_enricher

S = ProcessingStatus
pytestmark = pytest.mark.django_db


def queued_note(user, content="Plan the launch. Write the announcement today.", **fields):
    return make_note(user, content, status=S.QUEUED, job_id="job-1", **fields)


def test_a_claimed_note_is_enriched_and_completed(user):
    note = queued_note(user)
    assert pipeline.run(note.pk, "job-1") == "completed"
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.processed_at is not None
    assert note.processing_token is None
    assert note.attempts == 1
    assert note.enriched_hash == note.content_hash
    data = note.enrichment_data
    assert data["backend"] == "local"
    assert data["schema_version"] == 1
    assert data["title"] and data["summary"] and data["tags"]
    assert data["word_count"] == 7


def test_the_design_documents_mocked_unit_test(user, mocker=None):
    # Section 4.1 of the design document: the enricher is replaced; the job marks the
    # note PROCESSING, then stores what the enricher returned.
    from unittest import mock

    note = queued_note(user)
    seen_status = []
    result = EnrichmentResult(
        Enrichment(title="T", summary="S", tags=["x"], action_items=[], language="en"),
        backend="mock",
    )

    def fake_enrich(content, **context):
        seen_status.append(Note.objects.get(pk=note.pk).processing_status)
        return result

    with mock.patch.object(pipeline, "get_enricher") as get_enricher:
        get_enricher.return_value.enrich.side_effect = fake_enrich
        pipeline.run(note.pk, "job-1")
    get_enricher.return_value.enrich.assert_called_once_with(
        note.content, vocabulary=[], language=""
    )
    assert seen_status == [S.PROCESSING]
    note.refresh_from_db()
    assert note.enrichment_data["title"] == "T"
    assert note.enrichment_data["backend"] == "mock"


def test_an_enricher_that_cannot_enrich_fails_the_note_with_the_reason(user, monkeypatch):
    def refuse(content):
        raise PermanentEnrichmentError("The model refused this note.")

    use_enricher(monkeypatch, refuse)
    note = queued_note(user)
    assert pipeline.run(note.pk, "job-1") == "failed"
    note.refresh_from_db()
    assert note.processing_status == S.FAILED
    assert note.last_error == "The model refused this note."
    assert note.enrichment_data is None


def test_output_that_does_not_match_the_schema_fails_the_note(user, monkeypatch):
    def invalid(content):
        return EnrichmentResult(Enrichment.model_validate({"title": ""}), backend="x")

    use_enricher(monkeypatch, invalid)
    note = queued_note(user)
    assert pipeline.run(note.pk, "job-1") == "failed"
    note.refresh_from_db()
    assert note.processing_status == S.FAILED
    assert "did not match the schema" in note.last_error


def test_an_unexpected_exception_marks_error_and_is_re_raised(user, monkeypatch):
    def explode(content):
        raise KeyError("boom")

    use_enricher(monkeypatch, explode)
    note = queued_note(user)
    with pytest.raises(KeyError):
        pipeline.run(note.pk, "job-1")
    note.refresh_from_db()
    assert note.processing_status == S.ERROR
    assert note.last_error == "KeyError: 'boom'"


def test_a_transient_fault_goes_back_to_queued_with_a_scheduled_retry(
    user, monkeypatch, fake_redis
):
    def flaky(content):
        raise TransientEnrichmentError("503 Service Unavailable", retry_after=30)

    use_enricher(monkeypatch, flaky)
    note = queued_note(user)
    assert pipeline.run(note.pk, "job-1") == "retry"
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.status_detail.startswith("retry 1 of 4 at ")
    assert note.last_error == "503 Service Unavailable"
    assert note.retry_at is not None
    scheduled = Queue("note_enrichment", connection=fake_redis).scheduled_job_registry
    assert scheduled.get_job_ids() == [note.job_id]
    # Retry-After is honoured: never sooner than the provider asked.
    assert (note.retry_at - note.status_changed_at).total_seconds() >= 29


def test_transient_faults_stop_after_the_retry_limit(user, monkeypatch, fake_redis, settings):
    settings.ENRICHMENT_MAX_RETRIES = 2

    def flaky(content):
        raise TransientEnrichmentError("timeout")

    use_enricher(monkeypatch, flaky)
    note = queued_note(user)
    outcomes = []
    for _ in range(3):
        job_id = Note.objects.get(pk=note.pk).job_id
        outcomes.append(pipeline.run(note.pk, job_id))
    assert outcomes == ["retry", "retry", "failed"]
    note.refresh_from_db()
    assert note.processing_status == S.FAILED
    assert note.last_error == "Gave up after 2 retries: timeout"


def test_a_deleted_note_ends_quietly(user):
    note = queued_note(user)
    Note.objects.filter(pk=note.pk).delete()
    assert pipeline.run(note.pk, "job-1") == "skipped"


def test_a_stale_duplicate_job_does_nothing(user, monkeypatch):
    calls = []
    use_enricher(monkeypatch, lambda content: calls.append(content))
    note = queued_note(user)
    assert pipeline.run(note.pk, "some-older-job") == "skipped"
    assert calls == []
    assert Note.objects.get(pk=note.pk).processing_status == S.QUEUED


def test_a_result_for_content_that_changed_meanwhile_is_not_stored(user, monkeypatch, fake_redis):
    from notes import services

    note = queued_note(user, "first version of the note")

    def enrich_while_someone_edits(content, **context):
        services.update_note(Note.objects.get(pk=note.pk), content="second version of the note")
        return LocalEnricher().enrich(content)

    use_enricher(monkeypatch, enrich_while_someone_edits)
    assert pipeline.run(note.pk, "job-1") == "superseded"
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.enrichment_data is None
    # The new version then gets its own enrichment.
    monkeypatch.setattr(pipeline, "get_enricher", LocalEnricher)
    assert pipeline.run(note.pk, note.job_id) == "completed"
    note.refresh_from_db()
    assert note.enriched_hash == note.content_hash
    assert note.enrichment_data["title"] == "second version of the note"


def test_a_late_attempt_cannot_overwrite_a_newer_one(user):
    note = make_note(user, status=S.PROCESSING, processing_token=uuid.uuid4())
    from notes.services import transition

    assert not transition(note.pk, S.COMPLETED, source=S.PROCESSING, token=uuid.uuid4())


def test_every_attempt_is_recorded_in_the_run_history(user, monkeypatch, fake_redis):
    from enrichment.models import EnrichmentRun

    def flaky(content):
        raise TransientEnrichmentError("429 Too Many Requests")

    note = queued_note(user)
    use_enricher(monkeypatch, flaky)
    pipeline.run(note.pk, "job-1")
    monkeypatch.setattr(pipeline, "get_enricher", LocalEnricher)
    pipeline.run(note.pk, Note.objects.get(pk=note.pk).job_id)

    runs = list(EnrichmentRun.objects.filter(note=note).order_by("attempt"))
    assert [(r.attempt, r.outcome, r.error_kind) for r in runs] == [
        (1, "retry", "transient"),
        (2, "completed", ""),
    ]
    assert runs[0].error_message == "429 Too Many Requests"
    assert all(r.finished_at and r.duration_ms is not None for r in runs)
    assert runs[1].job_id == Note.objects.get(pk=note.pk).job_id
