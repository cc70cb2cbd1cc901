"""The admin's "Enrichment overview" page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from enrichment.models import RunOutcome
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note, make_run, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db
URL = "/admin/enrichment/overview/"


def test_only_staff_can_open_it(client, user):
    assert client.get(URL).status_code == 302  # to the admin login
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_admin_index_links_to_it(admin_client):
    response = admin_client.get("/admin/")
    assert f'href="{URL}"' in response.content.decode()


def test_it_shows_the_pipeline_figures(admin_client, redis_conn, registered_worker, settings):
    settings.ENRICHMENT_STUCK_AFTER = 720
    owner = make_user()
    now = timezone.now()
    for _ in range(3):
        make_note(owner, status=S.COMPLETED)
    failed = make_note(owner, status=S.FAILED)
    stuck = make_note(
        owner,
        status=S.PROCESSING,
        title="<script>alert(1)</script>",
        status_changed_at=now - timedelta(hours=2),
    )
    oldest = make_note(owner, status=S.QUEUED, status_changed_at=now - timedelta(minutes=3))
    make_note(owner, status=S.QUEUED)
    # 20 completed runs of 100..2000 ms: average 1050, p95 the 19th value = 1900.
    for i in range(1, 21):
        make_run(failed, RunOutcome.COMPLETED, duration_ms=i * 100, tokens=(10, 5))
    make_run(failed, RunOutcome.FAILED, duration_ms=5, ago=2 * 3600)
    make_run(failed, RunOutcome.ERROR, duration_ms=5, ago=2 * 3600)

    response = admin_client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    ctx = response.context
    counts = {s["value"]: s["count"] for s in ctx["statuses"]}
    assert counts == {"queued": 2, "processing": 1, "completed": 3, "failed": 1, "error": 0}
    assert 'href="/admin/notes/note/?processing_status__exact=failed"' in page
    assert ctx["durations"] == {"count": 20, "avg_ms": 1050, "p95_ms": 1900}
    assert "1050 ms avg" in page and "p95 1900 ms" in page
    assert ctx["tokens"]["total"] == 300
    assert ctx["oldest_queued"].pk == oldest.pk
    assert [n.pk for n in ctx["stuck"]] == [stuck.pk]
    # The stuck note's title is escaped, never executed.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert ctx["redis"]["workers"]["count"] == 1
    chart = ctx["chart"]
    assert chart["total_completed"] == 20
    assert chart["total_failed"] == 2
    assert len(chart["bars"]) == 48
    tallest = [b for b in chart["bars"] if b["value"] == 20]
    assert len(tallest) == 1 and tallest[0]["height"] == chart["plot_height"]
    assert len(re.findall(r'<rect class="(completed|failed)"', page)) == 48


def test_it_renders_when_redis_is_down(admin_client, settings):
    from devservices.redis import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert "Redis unreachable" in response.content.decode()


def test_the_buttons_reprocess_failed_notes_on_the_bulk_queue(
    admin_client, redis_conn, django_capture_on_commit_callbacks
):
    owner = make_user()
    failed = [make_note(owner, status=S.FAILED) for _ in range(3)]
    errored = make_note(owner, status=S.ERROR)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(URL, {"action": "reprocess_failed"}, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert "3 failed note(s) queued for reprocessing" in response.content.decode()
    assert set(
        Note.objects.filter(pk__in=[n.pk for n in failed]).values_list(
            "processing_status", flat=True
        )
    ) == {S.QUEUED}
    assert Note.objects.get(pk=errored.pk).processing_status == S.ERROR
    from rq import Queue

    # The three notes and the job that feeds the next batch.
    assert Queue("note_enrichment_bulk", connection=redis_conn).count == 3 + 1
    assert Queue("note_enrichment", connection=redis_conn).count == 0


def test_the_buttons_need_a_csrf_token(client, staff_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(staff_user)
    make_note(status=S.ERROR)
    response = csrf_client.post(URL, {"action": "reprocess_error"})
    assert response.status_code == 403
    assert Note.objects.filter(processing_status=S.ERROR).count() == 1


def test_the_rq_dashboard_is_in_the_admin_for_staff_only(client, user, admin_client, redis_conn):
    dashboard = "/admin/django_rq/dashboard/"
    assert client.get(dashboard).status_code == 302
    client.force_login(user)
    assert client.get(dashboard).status_code == 302
    response = admin_client.get(dashboard)
    assert response.status_code == 200
    assert "note_enrichment_bulk" in response.content.decode()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_the_chart_counts_runs_in_any_time_zone(admin_client, settings, zone):
    settings.TIME_ZONE = zone
    note = make_note(status=S.COMPLETED)
    make_run(note, RunOutcome.COMPLETED, duration_ms=10, ago=5 * 3600)
    make_run(note, RunOutcome.FAILED, duration_ms=10, ago=1 * 3600)
    chart = admin_client.get(URL).context["chart"]
    assert (chart["total_completed"], chart["total_failed"]) == (1, 1)
