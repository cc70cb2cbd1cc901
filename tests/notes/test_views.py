"""The people's pages, through Django's test client (real PostgreSQL when configured)."""

import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rq import Queue

from enrichment.models import EnrichmentRun
from notes.models import Note
from notes.status import ProcessingStatus
from notes.tags import normalise_tags
from tests.factories import make_enriched_note, make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db

ENRICHED = {
    "title": "Launch plan",
    "summary": "Plan the launch of the new product.",
    "tags": ["launch", "marketing"],
    "action_items": ["Write the announcement"],
    "language": "en",
    "reading_time_minutes": 1,
    "word_count": 7,
    "backend": "local",
    "model": "",
    "schema_version": 1,
}


def completed_note(owner, content="Plan the launch. Write the announcement.", **data):
    enrichment = {**ENRICHED, **data}
    # As the pipeline leaves it with automatic suggestions: the tags became the person's.
    return make_enriched_note(owner, content, enrichment, tags=normalise_tags(enrichment["tags"]))


# --- Accounts -----------------------------------------------------------------------


def test_the_root_leads_to_the_note_list(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/notes/"


@pytest.mark.parametrize("path", ["/notes/", "/notes/new/", "/notes/status/?ids=1"])
def test_note_pages_require_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_person_logs_in_and_lands_on_their_notes(client, user):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "a-long-test-password-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/notes/"


def test_logging_out_is_a_post(client_of, user):
    client = client_of(user)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/notes/").status_code == 302  # logged out: back to the login page


def test_sign_up_does_not_exist_unless_allowed(client, db):
    assert client.get("/accounts/signup/").status_code == 404


def test_sign_up_creates_an_account_when_allowed(client, settings, db):
    settings.ALLOW_SIGNUP = True
    response = client.post(
        "/accounts/signup/",
        {
            "username": "bob",
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    client.post("/accounts/login/", {"username": "bob", "password": "correct-horse-battery"})
    assert client.get("/notes/").status_code == 200  # signed up, then logged in


# --- List ---------------------------------------------------------------------------


def test_the_list_shows_own_notes_newest_first_with_title_excerpt_tags_and_status(client_of, user):
    older = completed_note(user, "An older note about the garden.")
    newer = make_note(user, "A fresh thought, not enriched yet.", title="Fresh")
    make_note(make_user("mallory"), "Mallory's secret plans.")

    response = client_of(user).get("/notes/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Fresh") < html.index("Launch plan")  # newest first; suggested title
    assert "Plan the launch of the new product." in html  # the summary, not the content
    assert "An older note about the garden." not in html
    assert 'href="?tag=marketing"' in html
    assert 'class="badge badge-queued"' in html and 'class="badge badge-completed"' in html
    assert "Mallory" not in html
    assert [n.pk for n in response.context["notes"]] == [newer.pk, older.pk]


def test_the_list_excerpt_is_cut_in_the_database(client_of, user):
    make_note(user, "word " * 50_000)  # 250 KB

    with CaptureQueriesContext(connection) as queries:
        response = client_of(user).get("/notes/")

    row = response.context["notes"][0]
    assert len(row.excerpt) == 241
    assert "content" in row.get_deferred_fields()
    note_selects = [q["sql"] for q in queries if 'FROM "notes_note"' in q["sql"]]
    assert note_selects
    for sql in note_selects:
        # The content column is only ever read through SUBSTRING(...), never whole.
        cut = re.sub(r'SUBSTR(ING)?\("notes_note"\."content"', "", sql)
        assert '"notes_note"."content"' not in cut, sql


def _list_queries(client, url="/notes/"):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url", ["/notes/", "/notes/?q=launch", "/notes/?tag=launch&status=completed"]
)
def test_the_list_makes_the_same_number_of_queries_whatever_the_page_size(
    client_of, user, settings, url
):
    settings.NOTES_PER_PAGE = 50
    client = client_of(user)
    completed_note(user)
    one = _list_queries(client, url)
    for i in range(30):
        completed_note(user, f"Plan the launch number {i}.")
    assert _list_queries(client, url) == one


def test_the_list_is_paginated(client_of, user, settings):
    settings.NOTES_PER_PAGE = 2
    for i in range(5):
        make_note(user, f"Note number {i}")
    client = client_of(user)
    page1 = client.get("/notes/")
    page3 = client.get("/notes/?page=3")
    assert [n.excerpt for n in page1.context["notes"]] == ["Note number 4", "Note number 3"]
    assert [n.excerpt for n in page3.context["notes"]] == ["Note number 0"]
    assert 'rel="next"' in page1.content.decode() and 'rel="prev"' not in page1.content.decode()
    assert 'rel="next"' not in page3.content.decode() and 'rel="prev"' in page3.content.decode()
    assert client.get("/notes/?page=4").status_code == 404
    assert client.get("/notes/?page=x").status_code == 404


def test_the_list_filters_by_status(client_of, user):
    failed = make_note(user, "This one failed.", status=S.FAILED)
    make_note(user, "This one waits.")
    response = client_of(user).get("/notes/?status=failed")
    assert [n.pk for n in response.context["notes"]] == [failed.pk]


def test_the_list_filters_by_tag(client_of, user):
    tagged = completed_note(user, tags=["garden"])
    completed_note(user, "Another", tags=["gardening"])
    make_note(user, "garden mentioned, but not tagged")
    response = client_of(user).get("/notes/?tag=Garden")
    assert [n.pk for n in response.context["notes"]] == [tagged.pk]


def test_an_unknown_status_filter_is_ignored_not_an_error(client_of, user):
    make_note(user)
    response = client_of(user).get("/notes/?status=bogus")
    assert response.status_code == 200
    assert len(response.context["notes"]) == 1


# --- Detail, live status ------------------------------------------------------------


def test_the_detail_page_shows_the_enrichment_and_where_it_came_from(client_of, user):
    note = completed_note(user, model="gpt-test")
    EnrichmentRun.objects.create(
        note=note, attempt=1, backend="local", started_at=note.created_at, outcome="completed"
    )
    html = client_of(user).get(f"/notes/{note.pk}/").content.decode()
    for text in (
        "Plan the launch. Write the announcement.",
        "Launch plan",
        "Plan the launch of the new product.",
        'href="/notes/?tag=launch"',
        "Write the announcement",
        "1 min",
        "gpt-test",
        "Run history (1)",
    ):
        assert text in html
    assert 'data-terminal="true"' in html


@pytest.mark.parametrize("status", [S.FAILED, S.ERROR])
def test_a_broken_note_shows_the_reason_and_a_reprocess_button(client_of, user, status):
    note = make_note(user, status=status, last_error="The model refused this note: policy 7b.")
    html = client_of(user).get(f"/notes/{note.pk}/").content.decode()
    # A sentence for people; the technical detail stays in the admin and run history.
    assert "The model declined this note; try again, or change its wording." in html
    assert "policy 7b" not in html
    assert f'action="/notes/{note.pk}/reprocess/"' in html
    assert "Try again" in html


def test_a_queued_note_has_no_reprocess_button_and_polls(client_of, user):
    note = make_note(user)
    html = client_of(user).get(f"/notes/{note.pk}/").content.decode()
    assert "/reprocess/" not in html
    assert 'data-terminal="false"' in html
    assert "/static/js/status.js" in html


def test_the_status_endpoint_reports_the_status_and_the_panel(client_of, user):
    note = completed_note(user)
    data = client_of(user).get(f"/notes/{note.pk}/status/").json()
    assert data["status"] == "completed"
    assert data["terminal"] is True
    assert data["title"] == "Launch plan"
    assert "Plan the launch of the new product." in data["html"]


def test_the_list_status_endpoint_costs_the_same_queries_for_one_or_many_notes(client_of, user):
    client = client_of(user)
    first = make_note(user)

    def queries_for(notes):
        with CaptureQueriesContext(connection) as queries:
            data = client.get("/notes/status/?ids=" + ",".join(str(n.pk) for n in notes)).json()
        assert len(data["notes"]) == len(notes)
        return len(queries)

    one = queries_for([first])
    assert queries_for([first] + [completed_note(user) for _ in range(20)]) == one


def test_the_list_status_endpoint_answers_only_for_own_notes(client_of, user):
    mine = make_note(user)
    theirs = make_note(make_user("mallory"))
    data = client_of(user).get(f"/notes/status/?ids={mine.pk},{theirs.pk}").json()
    assert [n["id"] for n in data["notes"]] == [mine.pk]
    assert data["notes"][0]["terminal"] is False
    assert f'data-note-id="{mine.pk}"' in data["notes"][0]["html"]


# --- Writing ------------------------------------------------------------------------


def test_creating_a_note_queues_it_and_says_so(
    client_of, user, fake_redis, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(user).post(
            "/notes/new/", {"title": "", "content": "Buy milk.\n"}, follow=True
        )
    note = Note.objects.get(owner=user)
    assert response.redirect_chain == [(f"/notes/{note.pk}/", 302)]
    assert note.content == "Buy milk.\n"  # kept exactly, trailing line break included
    assert note.processing_status == S.QUEUED
    queue = Queue(settings.ENRICHMENT_QUEUE, connection=fake_redis)
    assert queue.job_ids == [note.job_id]
    assert "Note saved. It is queued for enrichment." in response.content.decode()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "a note cannot be empty"),
        ("   \n\t ", "a note cannot be empty"),
        ("bad\x00byte", "Line 1, column 4 contains a character that cannot be saved (U+0000 NUL)"),
        ("ok\nalso \x07bell", "Line 2, column 6"),
    ],
)
def test_bad_content_is_a_form_error_and_keeps_the_text(
    client_of, user, fake_redis, content, error
):
    response = client_of(user).post("/notes/new/", {"title": "Kept title", "content": content})
    html = response.content.decode()
    assert response.status_code == 200
    assert error in html
    assert 'value="Kept title"' in html
    assert Note.objects.count() == 0


def test_content_over_the_limit_is_an_error_naming_the_limit(client_of, user, settings):
    settings.NOTE_MAX_LENGTH = 1000
    typed = "é" * 600  # 1200 bytes of UTF-8 in 600 characters
    response = client_of(user).post("/notes/new/", {"content": typed})
    html = response.content.decode()
    assert "the limit is 1000" in html and "(1,000 bytes)" in html
    assert typed in html
    assert Note.objects.count() == 0


def test_twice_the_default_limit_is_still_a_form_error_not_a_refused_request(client_of, user):
    typed = "é" * settings.NOTE_MAX_LENGTH  # twice the limit in UTF-8, 6 times form-encoded
    # Encoded the way a browser submits the form (not the test client's multipart).
    response = client_of(user).post(
        "/notes/new/",
        urlencode({"content": typed}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "the limit is 97.7\xa0KB (100,000 bytes)" in response.content.decode()
    assert Note.objects.count() == 0


def test_content_at_the_default_limit_is_accepted(client_of, user, fake_redis):
    assert settings.NOTE_MAX_LENGTH == 100_000
    content = "a" * settings.NOTE_MAX_LENGTH
    response = client_of(user).post("/notes/new/", {"content": content})
    assert response.status_code == 302
    assert len(Note.objects.get().content) == settings.NOTE_MAX_LENGTH


def test_editing_the_content_requests_a_new_enrichment(client_of, user, fake_redis):
    note = completed_note(user)
    response = client_of(user).post(
        f"/notes/{note.pk}/edit/", {"title": "Mine", "content": "New words entirely."}, follow=True
    )
    note.refresh_from_db()
    assert note.title == "Mine"
    assert note.content == "New words entirely."
    assert note.processing_status == S.QUEUED
    assert "queued for enrichment" in response.content.decode()


def test_editing_only_the_title_does_not_requeue(client_of, user, fake_redis):
    note = completed_note(user)
    client_of(user).post(f"/notes/{note.pk}/edit/", {"title": "Renamed", "content": note.content})
    note.refresh_from_db()
    assert note.title == "Renamed"
    assert note.processing_status == S.COMPLETED


def test_an_invalid_edit_keeps_the_typed_text_and_the_stored_note(client_of, user):
    note = completed_note(user)
    response = client_of(user).post(
        f"/notes/{note.pk}/edit/", {"title": "Typed", "content": "half\x00done"}
    )
    assert "half" in response.content.decode() and 'value="Typed"' in response.content.decode()
    note.refresh_from_db()
    assert note.title == "" and note.content == "Plan the launch. Write the announcement."


def test_deleting_asks_first_then_deletes_on_post(client_of, user):
    note = make_note(user)
    client = client_of(user)
    assert "cannot be undone" in client.get(f"/notes/{note.pk}/delete/").content.decode()
    assert Note.objects.filter(pk=note.pk).exists()
    response = client.post(f"/notes/{note.pk}/delete/", follow=True)
    assert not Note.objects.filter(pk=note.pk).exists()
    assert "Deleted" in response.content.decode()


def test_reprocessing_a_failed_note_queues_it(client_of, user, fake_redis):
    note = make_note(user, status=S.FAILED, last_error="nope")
    response = client_of(user).post(f"/notes/{note.pk}/reprocess/", follow=True)
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.last_error == ""
    assert "Queued for enrichment again." in response.content.decode()


def test_reprocessing_a_note_in_progress_changes_nothing_and_says_why(client_of, user):
    note = make_note(user, status=S.PROCESSING)
    response = client_of(user).post(f"/notes/{note.pk}/reprocess/", follow=True)
    note.refresh_from_db()
    assert note.processing_status == S.PROCESSING
    assert "already queued or being processed" in response.content.decode()


def test_reprocess_is_post_only(client_of, user):
    note = make_note(user, status=S.FAILED)
    assert client_of(user).get(f"/notes/{note.pk}/reprocess/").status_code == 405


# --- Only your own notes ------------------------------------------------------------

NOTE_URLS = [
    "/notes/{}/",
    "/notes/{}/edit/",
    "/notes/{}/delete/",
    "/notes/{}/reprocess/",
    "/notes/{}/status/",
]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("template", NOTE_URLS)
def test_somebody_elses_note_is_a_404_for_every_url_and_method(client_of, user, template, method):
    theirs = make_note(make_user("mallory"), status=S.FAILED, last_error="secret reason")
    client = client_of(user)
    response = getattr(client, method)(template.format(theirs.pk), {"content": "hijack"})
    assert response.status_code == 404
    assert "secret" not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.content == "Plan the launch. Write the announcement."
    assert theirs.processing_status == S.FAILED


def test_the_404_page_is_friendly(client_of, user):
    html = client_of(user).get("/notes/999999/").content.decode()
    assert "Page not found" in html and 'href="/notes/"' in html


# --- Safe rendering -----------------------------------------------------------------

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)"> {{ 7|add:1 }} {% now "Y" %}'


def test_content_and_enrichment_render_inertly(client_of, user):
    note = completed_note(
        user,
        PAYLOAD,
        title='<img src=x onerror="alert(3)">',
        summary="<script>alert(4)</script>",
        tags=['"><script>alert(5)</script>'],
        action_items=['<a href="javascript:alert(6)">click</a>'],
    )
    client = client_of(user)
    for url in ("/notes/", f"/notes/{note.pk}/", f"/notes/{note.pk}/edit/"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert '<a href="javascript:' not in html, url
        if url != "/notes/":  # the list shows the title and summary, not the content
            assert "{{ 7|add:1 }}" in html, url  # template syntax in data is not evaluated
    status_html = client.get(f"/notes/{note.pk}/status/").json()["html"]
    assert "<script>" not in status_html and "&lt;script&gt;alert(4)" in status_html


def test_every_post_form_carries_a_csrf_token(client_of, user):
    note = make_note(user, status=S.FAILED)
    client = client_of(user)
    for url in (
        "/notes/new/",
        f"/notes/{note.pk}/",
        f"/notes/{note.pk}/edit/",
        f"/notes/{note.pk}/delete/",
        "/notes/",
    ):
        html = client.get(url).content.decode()
        forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', html, re.S)
        assert forms, url
        for body in forms:
            assert 'name="csrfmiddlewaretoken"' in body, url


def test_a_post_without_the_csrf_token_is_refused(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/notes/new/", {"content": "Sneaky."})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert Note.objects.count() == 0


def test_the_500_page_is_friendly_and_needs_no_request_context(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/notes/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "/static/css/site.css" in response.content.decode()
