"""The people's pages for Markdown, ticking, tags, suggestions, settings and regenerate."""

import pytest

from notes.models import Note, Preferences
from notes.status import ProcessingStatus
from tests.factories import make_enriched_note, make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db

TASKS = "# Launch\n\n- [ ] Write the announcement\n- [ ] Book the room\n"
ENRICHED = {
    "title": "Launch plan",
    "summary": "Plan the **launch**.",
    "tags": ["launch"],
    "action_items": ["Write the announcement", "Book the room"],
    "language": "en",
    "backend": "local",
}


def completed(owner, content=TASKS, **fields):
    return make_enriched_note(owner, content, ENRICHED, tags=["launch"], **fields)


def test_the_detail_page_renders_markdown_and_inline_markdown(client_of, user):
    note = completed(user)
    html = client_of(user).get(f"/notes/{note.pk}/").content.decode()
    assert "<h1>Launch</h1>" in html
    assert 'type="checkbox" name="done" value="1"' in html
    assert "Plan the <strong>launch</strong>." in html
    assert '<dd class="language">English</dd>' in html


def test_ticking_a_task_keeps_the_enrichment_and_queues_nothing(client_of, user):
    note = completed(user)
    client = client_of(user)
    response = client.post(
        f"/notes/{note.pk}/tasks/",
        {"done": ["1"], "seen": note.content_hash},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    note.refresh_from_db()
    assert note.content == "# Launch\n\n- [ ] Write the announcement\n- [x] Book the room\n"
    assert note.processing_status == S.COMPLETED and note.enrichment_is_current
    assert note.job_id == ""
    html = response.content.decode()
    assert 'value="1" checked' in html
    assert 'hx-swap-oob="innerHTML"' in html and '<li class="done">' in html


def test_a_tick_on_an_outdated_page_changes_nothing(client_of, user):
    note = completed(user)
    response = client_of(user).post(
        f"/notes/{note.pk}/tasks/", {"done": ["0"], "seen": "old"}, HTTP_HX_REQUEST="true"
    )
    note.refresh_from_db()
    assert note.content == TASKS
    assert "The note changed meanwhile" in response.content.decode()


def test_somebody_elses_note_is_404_for_every_new_action(client_of, user):
    note = completed(make_user("mallory"))
    client = client_of(user)
    for url, data in [
        (f"/notes/{note.pk}/tasks/", {"done": ["0"], "seen": note.content_hash}),
        (f"/notes/{note.pk}/tags/", {"add": "mine"}),
        (f"/notes/{note.pk}/tags/", {"remove": "launch"}),
    ]:
        assert client.post(url, data).status_code == 404
    note.refresh_from_db()
    assert note.content == TASKS and note.tags == ["launch"]


def test_tags_are_added_removed_and_suggestions_reviewed_on_the_page(client_of, user):
    note = completed(user, suggested_tags=["event", "spam"])
    client = client_of(user)
    url = f"/notes/{note.pk}/tags/"
    response = client.post(url, {"add": "Team Events!"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="note-tags"' in response.content.decode()
    client.post(url, {"remove": "launch"})
    client.post(url, {"accept": "Events"}, HTTP_HX_REQUEST="true")
    client.post(url, {"reject": "spam"}, HTTP_HX_REQUEST="true")
    note.refresh_from_db()
    assert note.tags == ["team-event", "event"]
    assert note.suggested_tags == []
    assert set(note.rejected_tags) == {"launch", "spam"}


def test_the_edit_page_sets_tags_and_dont_enrich(client_of, user):
    note = completed(user)
    client_of(user).post(
        f"/notes/{note.pk}/edit/",
        {"title": "", "content": TASKS, "tags": "Launch, Q3 Plans", "skip_enrichment": "on"},
    )
    note.refresh_from_db()
    assert note.tags == ["launch", "q3-plan"] and note.skip_enrichment


def test_the_tags_page_lists_renames_merges_and_deletes(client_of, user):
    completed(user)
    make_note(user, tags=["launch", "idea"])
    make_note(make_user("other"), tags=["secret"])
    client = client_of(user)
    html = client.get("/notes/tags/").content.decode()
    assert 'data-tag="secret"' not in html and 'data-tag="launch"' in html and "<td>2</td>" in html
    response = client.post("/notes/tags/", {"old": "idea", "new": "Launch"}, follow=True)
    assert "Merged “idea” into “launch” on 1 note(s)." in response.content.decode()
    client.post("/notes/tags/", {"delete": "launch"})
    assert list(Note.objects.filter(owner=user).values_list("tags", flat=True)) == [[], []]


def test_the_list_filters_by_the_persons_tags_and_highlights_search_words(client_of, user):
    tagged = completed(user)
    make_note(user, "Untagged launch notes")
    client = client_of(user)
    assert [n.pk for n in client.get("/notes/?tag=Launches").context["notes"]] == [tagged.pk]
    html = client.get("/notes/?q=launch").content.decode()
    assert "<mark>launch</mark>" in html or "<mark>Launch</mark>" in html


def test_a_card_shows_the_first_line_as_plain_text_before_enrichment(client_of, user):
    note = make_note(user, "## **Buy** [milk](https://a.example)\n\nand bread")
    html = client_of(user).get("/notes/").content.decode()
    assert ">Buy milk</a>" in html
    assert f"Note #{note.pk}" not in html


def test_regenerate_asks_the_model_again_and_try_again_follows_a_failure(client_of, user):
    note = completed(user)
    client = client_of(user)
    html = client.get(f"/notes/{note.pk}/").content.decode()
    assert 'value="regenerate"' in html and "even though a stored result exists" in html
    client.post(f"/notes/{note.pk}/reprocess/", {"mode": "regenerate"})
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED and note.ignore_cache
    failed = make_note(user, status=S.FAILED, last_error="Invalid JSON at position 3")
    html = client.get(f"/notes/{failed.pk}/").content.decode()
    assert "Try again" in html and 'value="regenerate"' not in html
    assert "The model&#x27;s answer could not be used; try again, or shorten the note." in html
    assert "position 3" not in html
    client.post(f"/notes/{failed.pk}/reprocess/", {"mode": "retry"})
    failed.refresh_from_db()
    assert failed.processing_status == S.QUEUED and not failed.ignore_cache


def test_the_settings_page_saves_the_persons_choices(client_of, user):
    client = client_of(user)
    html = client.get("/notes/settings/").content.decode()
    assert "The note&#x27;s own language" in html and ">German</option>" in html
    client.post(
        "/notes/settings/",
        {"enrichment_language": "de", "never_send_external": "on", "auto_apply_suggestions": ""},
    )
    prefs = Preferences.objects.get(user=user)
    assert (prefs.enrichment_language, prefs.never_send_external) == ("de", True)
    assert not prefs.auto_apply_suggestions and not prefs.model_enrichment_disabled
    response = client.post("/notes/settings/", {"enrichment_language": "xx"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_pages_list_shortcuts_link_password_change_have_a_favicon_and_no_inline_code(
    client_of, user
):
    note = completed(user)
    client = client_of(user)
    for url in ("/notes/", f"/notes/{note.pk}/", "/notes/tags/", "/notes/settings/", "/notes/new/"):
        html = client.get(url).content.decode()
        assert "<kbd>n</kbd> new note" in html and "<kbd>/</kbd> search" in html
        assert 'href="/accounts/password_change/"' in html
        assert 'rel="icon"' in html
        assert "<style" not in html and " style=" not in html
        assert "<script>" not in html and " onclick=" not in html.lower()
        assert '"allowEval": false' in html


def test_logging_out_says_so(client_of, user):
    response = client_of(user).post("/accounts/logout/", follow=True)
    assert "You are logged out." in response.content.decode()


def test_a_retry_shows_when_without_the_providers_words(client_of, user):
    note = make_note(
        user, status=S.QUEUED, status_detail="retry 2 of 4 at 14:05:00: HTTP 503 from api.example"
    )
    html = client_of(user).get(f"/notes/{note.pk}/").content.decode()
    assert "retry 2 of 4 at 14:05:00" in html and "api.example" not in html
