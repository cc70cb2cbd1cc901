"""Ticking, tags, suggestions, regenerate, shortcuts, dark theme and a phone-sized screen,
in real Chromium. Each test leaves a screenshot in test-artifacts/screens/ to look at."""

import re

import pytest
from playwright.sync_api import expect

from enrichment.models import EnrichmentRun
from notes.models import Note, Preferences
from notes.status import ProcessingStatus
from tests.factories import make_enriched_note, make_note, make_user

from .conftest import ARTIFACTS, log_in

S = ProcessingStatus
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

SCREENS = ARTIFACTS / "screens"
TASKS = (
    "# Garden report\n\n"
    "Tomatoes did **well**; see [the log](https://example.com/log).\n\n"
    "- [ ] Order a new greenhouse heater\n"
    "- [ ] Email the tomato yields\n\n"
    "| Crop | Kg |\n|---|---|\n| Tomatoes | 12 |\n"
)
ENRICHED = {
    "title": "Garden report",
    "summary": "Tomatoes did *well*; the heater needs replacing.",
    "tags": ["garden"],
    "action_items": ["Order a new greenhouse heater", "Email the tomato yields"],
    "language": "en",
    "backend": "local",
    "reading_time_minutes": 1,
    "word_count": 30,
}


def shoot(page, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def enriched_note(owner, content=TASKS, **fields):
    fields.setdefault("tags", ["garden"])
    return make_enriched_note(owner, content, ENRICHED, **fields)


def same_document(page):
    page.evaluate("window.__sameDocument = true")
    return lambda: page.evaluate("window.__sameDocument === true")


def test_ticking_a_task_saves_it_without_a_reload_or_a_model_call(page):
    alice = make_user("alice")
    note = enriched_note(alice)
    log_in(page, "alice")
    page.goto(f"/notes/{note.pk}/")
    kept = same_document(page)
    box = page.get_by_role("checkbox").nth(1)
    with page.expect_response(re.compile(r"/tasks/$")):
        box.check()
    expect(page.get_by_role("checkbox").nth(1)).to_be_checked()
    expect(page.locator(".action-items li.done")).to_have_text(re.compile("Email the tomato"))
    assert kept()
    note.refresh_from_db()
    assert "- [x] Email the tomato yields" in note.content
    assert note.processing_status == S.COMPLETED and note.enrichment_is_current
    assert not EnrichmentRun.objects.filter(note=note).exists()
    # Markdown rendered: heading, bold, a safe link, a table.
    expect(page.locator(".markdown h1")).to_have_text("Garden report")
    link = page.locator(".markdown a", has_text="the log")
    expect(link).to_have_attribute("rel", "nofollow noopener noreferrer")
    expect(page.locator(".markdown table td").first).to_have_text("Tomatoes")
    shoot(page, "ticking")


def test_a_person_edits_tags_and_reviews_suggestions_inline(page):
    alice = make_user("alice")
    Preferences.objects.create(user=alice, auto_apply_suggestions=False)
    note = enriched_note(alice, suggested_tags=["tomato", "heating"])
    log_in(page, "alice")
    page.goto(f"/notes/{note.pk}/")
    kept = same_document(page)
    tags = page.locator("#note-tags")
    tags.get_by_label("Add a tag").fill("Allotment Plans")
    tags.get_by_label("Add a tag").press("Enter")
    expect(tags.get_by_role("link", name="allotment-plan")).to_be_visible()
    tags.get_by_role("button", name="Remove tag garden").click()
    expect(tags.get_by_role("link", name="garden")).to_have_count(0)
    suggestion = tags.locator(".suggestion", has_text="tomato")
    suggestion.get_by_role("button", name="Accept").click()
    expect(tags.get_by_role("link", name="tomato")).to_be_visible()
    tags.locator(".suggestion", has_text="heating").get_by_role("button", name="Reject").click()
    expect(tags.locator(".suggestion")).to_have_count(0)
    assert kept()
    note.refresh_from_db()
    assert note.tags == ["allotment-plan", "tomato"]
    assert set(note.rejected_tags) == {"garden", "heating"}
    shoot(page, "tags-and-suggestions")
    page.get_by_role("link", name="Tags", exact=True).click()
    expect(page.locator("tr[data-tag='tomato']")).to_contain_text("1")
    shoot(page, "tags-page")


def test_regenerate_asks_the_model_again_and_the_queued_message_goes(page, worker):
    alice = make_user("alice")
    note = enriched_note(alice)
    log_in(page, "alice")
    page.goto(f"/notes/{note.pk}/")
    expect(page.get_by_text("even though a stored result exists")).to_be_visible()
    page.get_by_role("button", name="Regenerate").click()
    message = page.get_by_text("Regenerating: the model is asked again.")
    expect(page.locator("#note-live .badge")).to_have_text("Completed", timeout=30_000)
    expect(message).to_have_count(0)
    assert EnrichmentRun.objects.filter(note=note, outcome="completed").count() == 1
    note.refresh_from_db()
    assert note.enrichment_data["backend"] == "counting"
    assert "garden" in note.tags  # the person's tag survived
    shoot(page, "regenerated")


def test_keyboard_shortcuts_new_note_search_and_ctrl_enter(page):
    make_user("alice")
    log_in(page, "alice")
    expect(page.locator("footer")).to_contain_text("n new note")
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.locator("#id_q").press("Escape")
    page.locator("h1").click()
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/notes/new/$"))
    page.get_by_label("Content").fill("- [ ] written with the keyboard only")
    shoot(page, "shortcuts")
    page.get_by_label("Content").press("Control+Enter")
    expect(page.get_by_text("Note saved.")).to_be_visible()
    assert Note.objects.get().content == "- [ ] written with the keyboard only"


def test_the_dark_theme_follows_the_system_setting(browser, live_server):
    note = enriched_note(make_user("alice"))
    context = browser.new_context(base_url=live_server.url, color_scheme="dark")
    try:
        page = context.new_page()
        log_in(page, "alice")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 150, background
        shoot(page, "dark-theme-list")
        page.goto(f"/notes/{note.pk}/")
        shoot(page, "dark-theme-detail")
    finally:
        context.close()


def test_nothing_overflows_at_390_px(new_page):
    alice = make_user("alice")
    note = enriched_note(alice, content=TASKS + "\n" + "averyveryverylongwordwithoutspaces" * 6)
    for attempt in (1, 2):
        EnrichmentRun.objects.create(
            note=note,
            attempt=attempt,
            job_id=f"note-{note.pk}-{'a' * 32}",
            backend="local",
            started_at=note.created_at,
            outcome="completed",
        )
    page = new_page(width=390, height=844)
    log_in(page, "alice")
    pages = [
        ("/notes/", "phone-list"),
        (f"/notes/{note.pk}/", "phone-detail"),
        ("/notes/tags/", "phone-tags"),
        ("/notes/settings/", "phone-settings"),
        (f"/notes/{note.pk}/edit/", "phone-edit"),
    ]
    for path, name in pages:
        page.goto(path)
        if name == "phone-detail":
            page.get_by_text("Run history").click()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        shoot(page, name)


def test_staff_see_badges_change_live_and_the_regenerate_button(page):
    make_user("boss", staff=True)
    owner = make_user("alice")
    waiting = make_note(owner, "# Waiting note\n\nStill in the queue.", status=S.QUEUED)
    enriched_note(owner)
    log_in(page, "boss", path="/admin/login/")
    page.goto("/admin/notes/note/")
    kept = same_document(page)
    badge = page.locator(f"#note-badge-{waiting.pk}")
    expect(badge).to_have_text("Queued")
    Note.objects.filter(pk=waiting.pk).update(processing_status=S.COMPLETED)
    expect(badge).to_have_text("Completed", timeout=10_000)
    assert kept()
    expect(page.locator("#result_list")).to_contain_text("garden")
    shoot(page, "admin-changelist")
    page.goto(f"/admin/notes/note/{waiting.pk}/change/")
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".messagelist")).to_contain_text("queued to ask the model again")
    shoot(page, "admin-change-page")
