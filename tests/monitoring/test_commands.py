"""The operator's commands: reprocess_notes and enrichment_status."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from rq import Queue

from notes import services
from notes.models import Note, content_hash
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus


def reprocess(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("reprocess_notes", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def statuses(notes):
    return [Note.objects.get(pk=n.pk).processing_status for n in notes]


@pytest.mark.django_db
class TestReprocessNotes:
    def test_by_status_queues_those_notes_on_the_bulk_queue(
        self, redis_conn, django_capture_on_commit_callbacks
    ):
        owner = make_user()
        failed = make_note(owner, status=S.FAILED)
        errored = make_note(owner, status=S.ERROR)
        completed = make_note(owner, status=S.COMPLETED)

        with django_capture_on_commit_callbacks(execute=True):
            out, _ = reprocess("--status", "failed,error")

        assert "2 note(s) queued for reprocessing" in out
        assert statuses([failed, errored, completed]) == [S.QUEUED, S.QUEUED, S.COMPLETED]
        # The two notes and the job that feeds the next batch.
        assert Queue("note_enrichment_bulk", connection=redis_conn).count == 2 + 1
        assert Queue("note_enrichment", connection=redis_conn).count == 0

    def test_ids_and_all(self, redis_conn, django_capture_on_commit_callbacks):
        owner = make_user()
        notes = [make_note(owner, status=S.COMPLETED) for _ in range(3)]
        busy = make_note(owner, status=S.PROCESSING)
        with django_capture_on_commit_callbacks(execute=True):
            out, _ = reprocess("--ids", f"{notes[0].pk},{busy.pk}")
        assert "1 note(s) queued" in out
        assert statuses(notes + [busy]) == [S.QUEUED, S.COMPLETED, S.COMPLETED, S.PROCESSING]

        with django_capture_on_commit_callbacks(execute=True):
            out, _ = reprocess("--all")
        assert "2 note(s) queued" in out
        assert statuses(notes + [busy]) == [S.QUEUED, S.QUEUED, S.QUEUED, S.PROCESSING]

    def test_dry_run_changes_nothing(self, fake_redis):
        make_note(status=S.FAILED)
        make_note(status=S.FAILED)
        out, _ = reprocess("--status", "failed", "--dry-run")
        assert out.strip() == "Dry run: 2 note(s) would be queued for reprocessing."
        assert Note.objects.filter(processing_status=S.FAILED).count() == 2

    def test_bad_arguments_are_refused(self):
        with pytest.raises(CommandError, match="Unknown status"):
            reprocess("--status", "broken")
        with pytest.raises(CommandError, match="--ids"):
            reprocess("--ids", "1,x")
        with pytest.raises(CommandError):
            reprocess()  # one of --status, --all, --ids is required

    def test_ignore_cache_is_passed_on_when_the_service_supports_it(self, fake_redis, monkeypatch):
        received = {}
        real = services.reprocess_selection

        def reprocess_selection(selection, *, ignore_cache=False, **kwargs):
            received["ignore_cache"] = ignore_cache
            return real(selection, **kwargs)

        monkeypatch.setattr(services, "reprocess_selection", reprocess_selection)
        make_note(status=S.FAILED)
        out, err = reprocess("--status", "failed", "--ignore-cache")
        assert received == {"ignore_cache": True}
        assert "1 note(s) queued" in out
        assert err == ""

    def test_a_large_selection_is_streamed_in_chunks(
        self, fake_redis, monkeypatch, django_assert_max_num_queries
    ):
        from notes.management.commands import reprocess_notes as command

        monkeypatch.setattr(command, "CHUNK_SIZE", 500)
        owner = make_user()
        Note.objects.bulk_create(
            Note(
                owner=owner,
                content=f"note {i}",
                content_hash=content_hash(f"note {i}"),
                processing_status=S.FAILED,
            )
            for i in range(3000)
        )
        # 6 chunks: a handful of queries each, however many notes there are.
        with django_assert_max_num_queries(6 * 8 + 4):
            out, _ = reprocess("--status", "failed")
        assert "3000 note(s) queued" in out
        assert Note.objects.filter(processing_status=S.QUEUED).count() == 3000


@pytest.mark.django_db(transaction=True)
class TestEnrichmentStatus:
    def test_json_has_the_health_figures_and_the_exit_code_says_degraded(self, redis_conn):
        services.create_note(owner=make_user(), content="Nobody is working on this yet.")
        out = io.StringIO()
        with pytest.raises(SystemExit) as exit_info:
            call_command("enrichment_status", "--json", stdout=out)
        assert exit_info.value.code == 1
        report = json.loads(out.getvalue())
        assert report["status"] == "degraded"
        assert report["checks"]["queue"]["queued"] == 1
        assert report["checks"]["workers"]["count"] == 0
        assert report["checks"]["notes"]["counts"]["queued"] == 1

    def test_the_table_lists_every_check(self, redis_conn, registered_worker):
        make_note(status=S.COMPLETED)
        out = io.StringIO()
        call_command("enrichment_status", stdout=out)  # ok: exits normally
        text = out.getvalue()
        assert text.splitlines()[0] == "Overall: ok"
        for check in ("database", "redis", "queue", "bulk_queue", "workers", "notes", "backend"):
            assert any(line.startswith(check + " ") for line in text.splitlines()), check
        assert "completed=1" in text


@pytest.mark.django_db
def test_rqstats_reports_both_enrichment_queues(
    redis_conn, django_capture_on_commit_callbacks, capsys
):
    with django_capture_on_commit_callbacks(execute=True):
        services.create_note(owner=make_user(), content="Counted by rqstats.")
    call_command("rqstats", "--json")  # django-rq prints straight to sys.stdout
    queues = {q["name"]: q for q in json.loads(capsys.readouterr().out)["queues"]}
    assert queues["note_enrichment"]["jobs"] == 1
    assert queues["note_enrichment_bulk"]["jobs"] == 0
