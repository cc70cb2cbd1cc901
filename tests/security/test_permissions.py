"""Operating the pipeline needs enrichment.operate, not just is_staff."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from enrichment.permissions import OPERATORS_GROUP
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db
OVERVIEW = "/admin/enrichment/overview/"
DASHBOARD = "/admin/django_rq/dashboard/"


def staff(*perms, username="clerk"):
    user = make_user(username)
    user.is_staff = True
    user.save()
    for codename in perms:
        app_label, _, name = codename.partition(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )
    return user


@pytest.fixture
def stuck_note(settings):
    """Another person's note that the overview lists (stuck) and can reprocess (failed)."""
    bob = make_user("bob")
    settings.ENRICHMENT_STUCK_AFTER = 60
    make_note(
        bob,
        status=S.PROCESSING,
        title="Bob's private diagnosis",
        status_changed_at=timezone.now() - timedelta(hours=2),
    )
    return make_note(bob, status=S.FAILED)


@pytest.fixture
def operator():
    user = staff(username="operator")
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    return user


def test_staff_without_the_permission_get_403_and_no_titles_on_the_overview(client, stuck_note):
    client.force_login(staff())
    response = client.get(OVERVIEW)
    assert response.status_code == 403
    assert "private diagnosis" not in response.content.decode()


def test_staff_without_the_permission_cannot_post_the_overview_actions(
    client, stuck_note, fake_redis
):
    client.force_login(staff())
    response = client.post(OVERVIEW, {"action": "reprocess_failed"})
    assert response.status_code == 403
    stuck_note.refresh_from_db()
    assert stuck_note.processing_status == S.FAILED


def test_the_operators_group_opens_the_overview_and_reprocesses(
    client, operator, stuck_note, fake_redis
):
    client.force_login(operator)
    assert "private diagnosis" in client.get(OVERVIEW).content.decode()
    client.post(OVERVIEW, {"action": "reprocess_failed"})
    stuck_note.refresh_from_db()
    assert stuck_note.processing_status == S.QUEUED


def test_a_superuser_operates_without_any_group(admin_client, stuck_note):
    response = admin_client.get(OVERVIEW)
    assert response.status_code == 200
    assert "private diagnosis" in response.content.decode()


def test_the_admin_index_links_to_the_overview_only_for_operators(client, operator):
    client.force_login(staff())
    assert OVERVIEW not in client.get("/admin/").content.decode()
    client.force_login(operator)
    assert OVERVIEW in client.get("/admin/").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        DASHBOARD,
        DASHBOARD + "queues/0/",
        DASHBOARD + "queues/0/empty/",
        DASHBOARD + "stats.json/",
        DASHBOARD + "workers/0/",
    ],
)
def test_staff_without_the_permission_get_403_from_every_dashboard_page(client, path):
    client.force_login(staff())
    assert client.get(path).status_code == 403
    assert client.post(path).status_code == 403


def test_emptying_a_queue_from_the_dashboard_needs_the_permission(client, operator, redis_conn):
    import django_rq

    queue = django_rq.get_queue("note_enrichment")
    queue.enqueue("builtins.print", "kept")
    client.force_login(staff())
    client.post(DASHBOARD + "queues/0/empty/")
    assert queue.count == 1
    client.force_login(operator)
    assert client.get(DASHBOARD).status_code == 200
    client.post(DASHBOARD + "queues/0/empty/")
    assert queue.count == 0


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    for path in (OVERVIEW, DASHBOARD):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("action", ["reprocess_selected", "reprocess_ignoring_cache"])
def test_note_admin_reprocess_actions_need_the_permission(client, action, fake_redis):
    note = make_note(status=S.COMPLETED)
    viewer = staff("notes.view_note", "notes.change_note")
    client.force_login(viewer)
    changelist = client.get("/admin/notes/note/").content.decode()
    assert action not in changelist
    response = client.post("/admin/notes/note/", {"action": action, "_selected_action": [note.pk]})
    assert response.status_code in (200, 302)
    assert Note.objects.get(pk=note.pk).processing_status == S.COMPLETED

    viewer.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    client.force_login(viewer)
    assert action in client.get("/admin/notes/note/").content.decode()
    client.post("/admin/notes/note/", {"action": action, "_selected_action": [note.pk]})
    assert Note.objects.get(pk=note.pk).processing_status == S.QUEUED


def test_a_large_admin_selection_is_handed_to_a_job(client, fake_redis, monkeypatch):
    from rq import Queue

    from notes import admin as notes_admin

    monkeypatch.setattr(notes_admin, "INLINE_REPROCESS", 2)
    notes = [make_note(status=S.COMPLETED) for _ in range(3)]
    operator = staff("notes.view_note", "notes.change_note")
    operator.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    client.force_login(operator)
    response = client.post(
        "/admin/notes/note/",
        {
            "action": "reprocess_selected",
            "select_across": "1",
            "index": "0",
            "_selected_action": [notes[0].pk],
        },
        follow=True,
    )
    assert "in the background" in response.content.decode()
    assert Note.objects.filter(processing_status=S.QUEUED).count() == 0
    (job,) = Queue("note_maintenance", connection=fake_redis).jobs
    assert job.func_name == "enrichment.jobs.reprocess_job"

    monkeypatch.setattr(notes_admin, "INLINE_REPROCESS", 5)
    client.post(
        "/admin/notes/note/",
        {
            "action": "reprocess_selected",
            "select_across": "1",
            "index": "0",
            "_selected_action": [notes[0].pk],
        },
    )
    assert Note.objects.filter(processing_status=S.QUEUED).count() == 3
