"""The openai backend in real `manage.py rqworker` processes, talking through the real
``openai`` client to a loopback stub that counts every request."""

import pytest
from django.conf import settings
from rq import Queue

from enrichment.models import EnrichmentRun
from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_user
from tests.support import netguard
from tests.support.llm_stub import LLMStub
from tests.support.workers import LiveWorker, run_burst_worker, wait_until

S = ProcessingStatus
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

API_KEY = "sk-test-worker-secret-0987654321"


def openai_env(stub: LLMStub, **extra) -> dict:
    env = {
        "ENRICHMENT_BACKEND": "openai",
        "OPENAI_BASE_URL": stub.base_url,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_MODEL": "stub-model",
        "ENRICHMENT_TIMEOUT": "5",
        # The worker may only reach loopback hosts; a refused attempt is printed.
        **netguard.subprocess_env(),
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def outcomes(note):
    return list(
        EnrichmentRun.objects.filter(note=note)
        .order_by("started_at")
        .values_list("outcome", flat=True)
    )


def test_a_worker_enriches_a_note_through_the_llm(redis_conn):
    with LLMStub(["think"]) as stub:
        note = services.create_note(owner=make_user(), content="TODO Call the plumber")
        result = run_burst_worker(**openai_env(stub))
    assert result.returncode == 0, result.stderr

    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.enrichment_data["action_items"] == ["Call the plumber"]
    assert note.enrichment_data["model"] == "stub-model"
    assert stub.count == 1
    assert outcomes(note) == ["completed"]
    assert API_KEY not in result.stdout + result.stderr
    assert netguard.MARK not in result.stderr


def test_a_worker_that_tries_to_leave_the_machine_is_caught(redis_conn):
    with LLMStub() as stub:
        note = services.create_note(owner=make_user(), content="Anything.")
        env = openai_env(stub, OPENAI_BASE_URL="http://203.0.113.7/v1", ENRICHMENT_MAX_RETRIES=0)
        result = run_burst_worker(**env)
        assert stub.count == 0
    assert f"{netguard.MARK} ('203.0.113.7', 80)" in result.stderr
    note.refresh_from_db()
    assert note.processing_status == S.FAILED
    assert "Could not reach the provider" in note.last_error


def test_a_worker_retries_a_500_through_the_scheduler_and_completes(redis_conn):
    with LLMStub(["server_error", "success"]) as stub:
        note = services.create_note(owner=make_user(), content="Water the plants on Monday.")
        with LiveWorker(**openai_env(stub, ENRICHMENT_RETRY_BASE_DELAY="0.2")):
            wait_until(
                lambda: Note.objects.get(pk=note.pk).processing_status == S.COMPLETED,
                timeout=60,
                message="(note never completed after the retry)",
            )
        assert stub.count == 2
    assert outcomes(note) == ["retry", "completed"]


def test_a_401_in_a_worker_fails_the_note_after_one_call(redis_conn):
    with LLMStub(default="unauthorized") as stub:
        note = services.create_note(owner=make_user(), content="Anything.")
        result = run_burst_worker(**openai_env(stub))
    assert result.returncode == 0, result.stderr
    note.refresh_from_db()
    assert note.processing_status == S.FAILED
    assert "check OPENAI_API_KEY" in note.last_error
    assert stub.count == 1
    assert netguard.MARK not in result.stderr
    assert Queue(settings.ENRICHMENT_QUEUE, connection=redis_conn).scheduled_job_registry.count == 0


def test_a_worker_without_model_or_key_stops_at_start_up_with_a_clear_error(redis_conn):
    with LLMStub() as stub:
        note = services.create_note(owner=make_user(), content="Anything.")
        result = run_burst_worker(**openai_env(stub, OPENAI_MODEL="", OPENAI_API_KEY=""))
        assert stub.count == 0
    assert result.returncode != 0
    assert "enrichment.E001" in result.stderr
    assert "OPENAI_MODEL is not set" in result.stderr
    assert "OPENAI_API_KEY is not set" in result.stderr
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED  # untouched, waiting for a fixed worker


def test_an_outage_pauses_the_backlog_instead_of_burning_its_retries(redis_conn):
    with LLMStub(default="server_error") as stub:
        owner = make_user()
        notes = [services.create_note(owner=owner, content=f"Backlog note {i}.") for i in range(8)]
        result = run_burst_worker(**openai_env(stub))
        assert result.returncode == 0, result.stderr
        threshold = settings.ENRICHMENT_BREAKER_THRESHOLD
        assert stub.count == threshold  # the failures that opened the breaker, nothing more

    rows = Note.objects.filter(pk__in=[n.pk for n in notes]).order_by("pk")
    assert all(row.processing_status == S.QUEUED for row in rows)
    retrying = [row for row in rows if row.status_detail.startswith("retry 1 of 4")]
    paused = [row for row in rows if row.status_detail.startswith("Provider paused")]
    assert len(retrying) == threshold
    assert len(paused) == len(notes) - threshold
    assert all(row.attempts == 0 for row in paused)  # waiting used none of their retries
    assert all(row.retry_at is not None for row in rows)
