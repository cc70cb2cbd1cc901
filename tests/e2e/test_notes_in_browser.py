"""A person and a staff member using notesite in a real browser, with a real worker."""

import re

import pytest
from playwright.sync_api import expect

from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_user
from tests.support.workers import LiveWorker

from .conftest import log_in

S = ProcessingStatus
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

NOTE = (
    "Prepare the quarterly garden report.\n"
    "Tomatoes did well this season; the greenhouse heater failed twice.\n"
    "- [ ] Order a new greenhouse heater\n"
    "- [ ] Email the tomato yields to the allotment committee\n"
)


def write_note(page, content, title=""):
    page.get_by_role("link", name="New note").first.click()
    if title:
        page.get_by_label("Title").fill(title)
    page.get_by_label("Content").fill(content)
    page.get_by_role("button", name="Save note").click()


def stay_on_page(page):
    """Mark the document: if it is still there later, the page was never reloaded."""
    page.evaluate("window.__sameDocument = true")


def was_not_reloaded(page):
    return page.evaluate("window.__sameDocument === true")


def status_badge(page):
    return page.locator("#note-live .status-line .badge")


def status_requests_after_final(page, seconds=3.5):
    """The status requests the page makes during a few poll intervals from now."""
    seen = []
    page.on("request", lambda request: "/status/" in request.url and seen.append(request.url))
    page.wait_for_timeout(seconds * 1000)
    return seen


def test_a_person_writes_a_note_watches_it_enriched_finds_it_and_edits_it(
    page, worker, live_server
):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    make_user("alice")
    log_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/notes/$"))

    write_note(page, NOTE)
    expect(page.get_by_text("Note saved. It is queued for enrichment.")).to_be_visible()
    stay_on_page(page)
    expect(status_badge(page)).to_have_text(re.compile("Queued|Processing"))

    # The worker finishes: status, suggested title, summary and tags appear by themselves.
    expect(status_badge(page)).to_have_text("Completed", timeout=30_000)
    assert was_not_reloaded(page)
    note = Note.objects.get()
    data = note.enrichment_data
    expect(page.locator("h1")).to_have_text(data["title"])
    expect(page.locator(".summary")).to_have_text(data["summary"])
    for tag in note.tags:  # the suggestions, applied as the person's tags
        expect(page.locator("#note-live .tags").get_by_role("link", name=tag)).to_be_visible()
    expect(page.locator(".action-items")).to_contain_text("Order a new greenhouse heater")
    expect(page.locator(".provenance")).to_contain_text("counting")
    assert status_requests_after_final(page) == []  # polling stopped once final

    # Search finds it by a word of its content; another word finds nothing.
    page.get_by_role("link", name="My notes").click()
    page.get_by_label("Search").fill("greenhouse")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".note-row")).to_have_count(1)
    expect(page.locator(".note-row-title")).to_have_text(data["title"])
    page.get_by_label("Search").fill("submarine")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No notes match.")).to_be_visible()

    # A tag link filters the list by that tag.
    page.goto(f"/notes/{note.pk}/")
    page.locator("#note-live .tags a").first.click()
    expect(page).to_have_url(re.compile(r"\?tag="))
    expect(page.locator(".note-row")).to_have_count(1)

    # Editing the content gets it enriched again, live.
    page.goto(f"/notes/{note.pk}/")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Content").fill("Book the piano tuner for Friday.\nBuy sheet music.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("The new content is queued for enrichment.")).to_be_visible()
    stay_on_page(page)
    expect(status_badge(page)).to_have_text("Completed", timeout=30_000)
    assert was_not_reloaded(page)
    expect(page.locator(".action-items")).to_contain_text("Book the piano tuner for Friday")
    expect(page.locator("h1")).to_have_text("Book the piano tuner for Friday")

    # Every asset and request went to the site itself: no CDN, no third party.
    assert requested
    assert all(url.startswith(live_server.url) for url in requested), set(requested)


def test_the_list_updates_rows_by_itself(page, worker):
    make_user("alice")
    log_in(page, "alice")
    write_note(page, "Call the plumber about the leak.")
    write_note(page, "Renew the passport before June.")
    page.get_by_role("link", name="My notes").click()
    stay_on_page(page)
    rows = page.locator(".note-row")
    expect(rows).to_have_count(2)
    expect(rows.locator(".badge-completed")).to_have_count(2, timeout=30_000)
    expect(page.locator(".note-row-title").first).to_have_text("Renew the passport before June")
    assert was_not_reloaded(page)
    assert status_requests_after_final(page) == []


def test_a_failed_note_is_fixed_with_the_reprocess_button(page, redis_conn, live_server):
    make_user("alice")
    log_in(page, "alice")
    with LiveWorker(ENRICHMENT_BACKEND="tests.support.enrichers.FailingEnricher"):
        write_note(page, "Summarise the meeting with the architects.")
        expect(status_badge(page)).to_have_text("Failed", timeout=30_000)
        # A sentence for people; the provider's own words stay in the admin.
        expect(page.locator(".problem")).to_contain_text("The model declined this note")

    with LiveWorker(ENRICHMENT_BACKEND="tests.support.enrichers.CountingEnricher"):
        stay_on_page(page)
        page.get_by_role("button", name="Try again").click()
        expect(page.get_by_text("Queued for enrichment again.")).to_be_visible()
        expect(status_badge(page)).to_have_text("Completed", timeout=30_000)
        expect(page.locator(".problem")).to_have_count(0)
        expect(page.locator(".summary")).to_contain_text("architects")
    assert Note.objects.get().processing_status == S.COMPLETED


XSS = (
    "<script>window.__xss = 1</script>\n"
    '<img src="x" onerror="window.__xss = 2">\n'
    '<a href="javascript:window.__xss = 3">click me</a>\n'
    "{{ request.user.password }} {% csrf_token %}\n"
    "Review the security checklist."
)


def test_an_xss_payload_stays_inert(page, worker):
    make_user("alice")
    log_in(page, "alice")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    write_note(page, XSS, title='<img src="x" onerror="window.__xss = 4">')
    expect(status_badge(page)).to_have_text("Completed", timeout=30_000)

    # The text is shown literally, as text (Markdown passes no HTML through); nothing ran.
    expect(page.locator(".markdown p")).to_have_text(XSS)
    expect(page.locator("h1")).to_have_text('<img src="x" onerror="window.__xss = 4">')
    expect(page.locator(".markdown p *")).to_have_count(0)  # text only, no elements
    page.locator(".markdown").get_by_text("click me").click()  # plain text: inert
    expect(page).to_have_url(re.compile(rf"/notes/{Note.objects.get().pk}/$"))
    page.get_by_role("link", name="My notes").click()
    expect(page.locator(".note-row")).to_have_count(1)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []


def test_another_person_gets_a_404_for_my_note(new_page, worker):
    make_user("alice")
    make_user("mallory")
    alice = new_page()
    log_in(alice, "alice")
    write_note(alice, "Alice's private diary entry.")
    note = Note.objects.get()

    mallory = new_page()
    log_in(mallory, "mallory")
    for path in ("", "edit/", "delete/", "status/"):
        response = mallory.goto(f"/notes/{note.pk}/{path}")
        assert response.status == 404, path
    expect(mallory.get_by_role("heading", name="Page not found")).to_be_visible()
    mallory.goto("/notes/")
    expect(mallory.get_by_text("You have no notes yet.")).to_be_visible()
    mallory.goto("/notes/?q=diary")
    expect(mallory.locator(".note-row")).to_have_count(0)


def reload_changelist_until_completed(page):
    """The changelist is a plain page: reload it until the worker has finished."""
    for _ in range(60):
        page.goto("/admin/notes/note/")
        if page.locator(".badge.badge-completed").count():
            break
        page.wait_for_timeout(500)
    expect(page.locator(".badge.badge-completed")).to_have_count(1)


def test_staff_create_a_note_in_the_admin_and_reprocess_it(page, worker):
    make_user("admin", staff=True)
    log_in(page, "admin", path="/admin/login/")
    page.goto("/admin/notes/note/add/")
    page.get_by_label("Content").fill("Plan the staff offsite in October.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    note = Note.objects.get()
    page.wait_for_function("true")
    reload_changelist_until_completed(page)

    page.locator(f'input[name="_selected_action"][value="{note.pk}"]').check()
    page.get_by_label("Action:").select_option(label="Reprocess selected notes")
    page.get_by_role("button", name="Run").click()
    expect(page.locator(".messagelist")).to_contain_text("1 note(s) queued for reprocessing")
    note.refresh_from_db()
    assert note.processing_status in (S.QUEUED, S.PROCESSING, S.COMPLETED)
    reload_changelist_until_completed(page)
    assert note.runs.count() == 2


def test_pages_fit_a_phone_screen_and_start_with_a_skip_link(new_page, worker):
    make_user("alice")
    page = new_page(width=375, height=740)
    log_in(page, "alice")
    write_note(page, "A " + "verylongwordwithoutanybreaks" * 10 + " to test wrapping.")
    expect(status_badge(page)).to_have_text("Completed", timeout=30_000)
    for path in ("/notes/", page.url, "/notes/new/"):
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, path
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
