"""Browser tests: Playwright drives Debian's Chromium (never a downloaded browser) against
pytest-django's live server, a real worker process and the real test Redis.

They are skipped, with the reason, when no Chromium is installed (a fresh developer
machine); `.ci/run` installs it, so CI always runs them. On failure a screenshot of the
page is saved in test-artifacts/.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support.workers import LiveWorker

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-test-password-123"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; its event loop ends with the module."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's package "
            "(apt-get install chromium) or set CHROMIUM_PATH to run the browser tests."
        )
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an event loop in this thread while the browser is
        # open, and Django then refuses ORM calls (including pytest-django's own database
        # set-up) unless told that this is deliberate. These tests use the ORM only
        # between browser steps, never concurrently with them. Undone after the module.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()


@pytest.fixture
def new_page(browser, live_server, request):
    """Open pages in fresh browser contexts (separate cookies: separate people)."""
    contexts = []

    def open_page(width=1280, height=900):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for index, context in enumerate(contexts):
            for number, page in enumerate(context.pages):
                path = ARTIFACTS / f"{name}-{index}-{number}.png"
                page.screenshot(path=str(path), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def worker(redis_conn, live_server):
    """A real worker process with a slow-ish enricher, so that 'queued' and 'processing'
    can be seen before 'completed'."""
    with LiveWorker(
        ENRICHMENT_BACKEND="tests.support.enrichers.CountingEnricher", TEST_ENRICH_DELAY="1"
    ) as live:
        yield live


def log_in(page, username, password=PASSWORD, path="/accounts/login/"):
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
