"""The staff side: the note change page's buttons, live badges, readable list, staff switch."""

import pytest

from notes.models import Note, Preferences
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_the_change_page_has_reprocess_and_regenerate(staff):
    note = make_note(status=S.COMPLETED)
    html = staff.get(f"/admin/notes/note/{note.pk}/change/").content.decode()
    assert f'action="/admin/notes/note/{note.pk}/reprocess/"' in html
    assert 'value="regenerate"' in html and 'value="reprocess"' in html
    response = staff.post(f"/admin/notes/note/{note.pk}/reprocess/", {"mode": "regenerate"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED and note.ignore_cache
    response = staff.post(
        f"/admin/notes/note/{note.pk}/reprocess/", {"mode": "reprocess"}, follow=True
    )
    assert "is already queued or being processed" in response.content.decode()


def test_reprocess_needs_the_change_permission(client):
    viewer = make_user("viewer")
    viewer.is_staff = True
    viewer.save()
    client.force_login(viewer)
    note = make_note(status=S.COMPLETED)
    assert client.post(f"/admin/notes/note/{note.pk}/reprocess/").status_code in (302, 403)
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED


def test_badges_update_live_and_stop_when_every_note_is_final(staff):
    waiting = make_note(status=S.QUEUED)
    done = make_note(status=S.COMPLETED)
    html = staff.get("/admin/notes/note/").content.decode()
    assert f'hx-get="/admin/notes/note/badges/?ids={waiting.pk}"' in html
    assert f'id="note-badge-{done.pk}"' in html
    answer = staff.get(f"/admin/notes/note/badges/?ids={waiting.pk},{done.pk}").content.decode()
    assert answer.count('hx-swap-oob="true"') == 2 and 'hx-trigger="every 2s"' in answer
    Note.objects.filter(pk=waiting.pk).update(processing_status=S.COMPLETED)
    answer = staff.get(f"/admin/notes/note/badges/?ids={waiting.pk}").content.decode()
    assert "Completed" in answer and "hx-trigger" not in answer


def test_the_admin_and_the_pages_show_the_same_badge(staff, staff_user):
    note = make_note(staff_user, status=S.FAILED)
    badge = f'<span id="note-badge-{note.pk}" class="badge badge-failed" data-status="failed">'
    assert badge in staff.get("/admin/notes/note/").content.decode()
    assert badge in staff.get(f"/notes/{note.pk}/").content.decode()
    assert 'href="/static/css/badges.css"' in staff.get("/admin/notes/note/").content.decode()


def test_the_changelist_shows_tags_and_status_detail_without_inline_styles(staff):
    make_note(tags=["garden", "tomato"], status=S.QUEUED, status_detail="retry 2 of 4 at 14:05")
    html = staff.get("/admin/notes/note/").content.decode()
    assert "garden, tomato" in html and "retry 2 of 4 at 14:05" in html
    assert "column-tags_column" in html and "column-status_detail_column" in html
    assert 'style="' not in html.split('id="result_list"')[1].split("</table>")[0]
    assert "/static/css/admin.css" in html and '"allowEval": false' in html


def test_staff_turn_model_enrichment_off_for_a_person(staff):
    person = make_user("person")
    response = staff.post(
        "/admin/notes/preferences/add/",
        {
            "user": person.pk,
            "model_enrichment_disabled": "on",
            "auto_apply_suggestions": "on",
            "enrichment_language": "",
        },
    )
    assert response.status_code == 302
    assert Preferences.objects.get(user=person).local_only


def test_the_overview_breadcrumbs_use_the_admin_bar(staff):
    html = staff.get("/admin/enrichment/overview/").content.decode()
    assert '<ol class="breadcrumbs">' in html and "<style>" not in html
