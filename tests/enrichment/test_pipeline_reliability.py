"""The pipeline's own defences: a database connection lost during the provider call, and a
worker shutting down during it."""

import contextlib

import pytest
from django.db import DatabaseError, connection
from rq import Queue
from rq.exceptions import ShutDownImminentException

from enrichment import pipeline
from enrichment.enrichers.local import LocalEnricher
from enrichment.models import EnrichmentRun, RunOutcome
from notes.status import ProcessingStatus
from tests.factories import make_note
from tests.support.enrichers import use_enricher

S = ProcessingStatus


def queued_note(user):
    return make_note(user, "Plan the launch. Write it up.", status=S.QUEUED, job_id="job-1")


@pytest.mark.django_db(transaction=True)
def test_a_result_whose_database_connection_died_is_stored_on_a_new_one(user, monkeypatch):
    note = queued_note(user)
    pids = []

    def enrich_while_the_database_drops_us(content, **context):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(cursor.fetchone()[0])
            # What an idle-connection killer or a PostgreSQL restart does to us:
            with contextlib.suppress(DatabaseError):
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return LocalEnricher().enrich(content)

    use_enricher(monkeypatch, enrich_while_the_database_drops_us)

    assert pipeline.run(note.pk, "job-1") == "completed"

    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED
    assert note.enriched_hash == note.content_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pids[0]  # really a new connection
    assert EnrichmentRun.objects.get(note=note).outcome == RunOutcome.COMPLETED


@pytest.mark.django_db
def test_a_worker_shutting_down_gives_the_note_back_to_the_queue(user, monkeypatch, fake_redis):
    note = queued_note(user)

    def enrich_until_the_grace_period_ends(content, **context):
        raise ShutDownImminentException("shut down imminent (signal: SIGALRM)", {})

    use_enricher(monkeypatch, enrich_until_the_grace_period_ends)

    assert pipeline.run(note.pk, "job-1") == "interrupted"

    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.job_id != "job-1"
    assert note.attempts == 0
    assert note.processing_token is None
    assert Queue("note_enrichment", connection=fake_redis).job_ids == [note.job_id]
    run = EnrichmentRun.objects.get(note=note)
    assert run.outcome == RunOutcome.ABANDONED
    assert run.error_kind == "shutdown"


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_while_reading_the_persons_choices_is_retried_not_an_error(
    user, monkeypatch, fake_redis
):
    from django.db import OperationalError

    from notes import tagging

    note = queued_note(user)

    def connection_killed(note_id):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(tagging, "enrichment_context", connection_killed)
    assert pipeline.run(note.pk, "job-1") == "retry"
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.retry_at is not None
    assert "Database unreachable" in note.last_error
