"""Run history and token totals in the admin, and the "Reprocess, ignoring cache" action."""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from enrichment.models import EnrichmentRun, RunOutcome
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note

S = ProcessingStatus
pytestmark = [
    pytest.mark.django_db,
    # WhiteNoise warns that collectstatic has not run; irrelevant to these pages.
    pytest.mark.filterwarnings("ignore:No directory at"),
]


def add_run(note, *, attempt=1, days_ago=0, **fields):
    defaults = {
        "backend": "openai",
        "model": "gpt-4o-mini",
        "prompt_version": "2026-11.1",
        "outcome": RunOutcome.COMPLETED,
        "input_tokens": 100,
        "output_tokens": 20,
        "provider_calls": 1,
    }
    defaults.update(fields)
    return EnrichmentRun.objects.create(
        note=note,
        attempt=attempt,
        started_at=timezone.now() - timedelta(days=days_ago),
        **defaults,
    )


def test_the_note_page_shows_its_run_history_and_token_total(client, staff_user):
    note = make_note(staff_user, status=S.COMPLETED)
    add_run(
        note,
        attempt=1,
        outcome=RunOutcome.RETRY,
        error_kind="transient",
        error_message="Provider rate limited (HTTP 429): slow down",
        output_tokens=0,
    )
    add_run(note, attempt=2, input_tokens=300, output_tokens=40, provider_calls=2)
    client.force_login(staff_user)

    page = client.get(reverse("admin:notes_note_change", args=[note.pk])).content.decode()

    assert "Run history" in page
    assert "Provider rate limited (HTTP 429): slow down" in page
    assert "gpt-4o-mini" in page
    assert "440 tokens (400 in, 40 out) in 3 provider calls" in page


def test_run_history_inline_is_read_only(client, staff_user):
    note = make_note(staff_user, status=S.COMPLETED)
    add_run(note)
    client.force_login(staff_user)
    page = client.get(reverse("admin:notes_note_change", args=[note.pk])).content.decode()
    assert 'name="runs-0-input_tokens"' not in page
    assert "runs-0-DELETE" not in page


def test_the_run_list_shows_tokens_per_day(client, staff_user):
    note = make_note(staff_user, status=S.COMPLETED)
    add_run(note, input_tokens=100, output_tokens=20)
    add_run(note, attempt=2, input_tokens=50, output_tokens=5)
    add_run(note, attempt=3, days_ago=2, input_tokens=7, output_tokens=3)
    client.force_login(staff_user)

    page = client.get(reverse("admin:enrichment_enrichmentrun_changelist")).content.decode()

    today = timezone.now().date().isoformat()
    earlier = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert f"<td>{today}</td><td>2</td><td>2</td><td>150</td><td>25</td><td>175</td>" in page
    assert f"<td>{earlier}</td><td>1</td><td>1</td><td>7</td><td>3</td><td>10</td>" in page


def test_tokens_per_day_are_utc_days_whatever_the_sites_time_zone(client, staff_user, settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: noon UTC is the next day there
    note = make_note(staff_user, status=S.COMPLETED)
    noon = (timezone.now() - timedelta(days=3)).replace(hour=12, minute=0, tzinfo=UTC)
    EnrichmentRun.objects.create(
        note=note, attempt=1, backend="local", started_at=noon, input_tokens=4, output_tokens=2
    )
    client.force_login(staff_user)

    page = client.get(reverse("admin:enrichment_enrichmentrun_changelist")).content.decode()

    assert f"<td>{noon.date().isoformat()}</td><td>1</td>" in page


def test_people_without_staff_rights_cannot_see_run_history(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:enrichment_enrichmentrun_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_reprocess_ignoring_cache_action_queues_with_the_flag(client, staff_user, fake_redis):
    done = make_note(staff_user, status=S.COMPLETED)
    busy = make_note(staff_user, status=S.PROCESSING)
    client.force_login(staff_user)

    response = client.post(
        reverse("admin:notes_note_changelist"),
        {"action": "reprocess_ignoring_cache", "_selected_action": [done.pk, busy.pk]},
        follow=True,
    )

    done.refresh_from_db()
    busy.refresh_from_db()
    assert done.processing_status == S.QUEUED
    assert done.ignore_cache is True
    assert busy.ignore_cache is False
    assert "1 note(s) queued for a fresh provider call; 1 skipped" in response.content.decode()
    assert Note.objects.filter(ignore_cache=True).count() == 1


@pytest.mark.django_db
def test_the_add_page_takes_a_plain_form_without_the_run_history(client, fake_redis):
    from django.contrib.auth import get_user_model

    from notes.models import Note

    admin = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-12345-abc")
    client.force_login(admin)
    response = client.get("/admin/notes/note/add/")
    assert b"runs-TOTAL_FORMS" not in response.content
    response = client.post(
        "/admin/notes/note/add/",
        {"owner": admin.pk, "title": "", "content": "Plan the launch.", "_save": "Save"},
    )
    assert response.status_code == 302
    assert Note.objects.get().content == "Plan the launch."
