"""Every page, in a real Chromium, under the real Content-Security-Policy: no violation
(no inline script or style that the policy blocks), the admin and the django-rq
dashboard included."""

import django_rq
import pytest

from notes.status import ProcessingStatus
from tests.e2e.conftest import log_in
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def watch(page):
    """Collect CSP violations, as the page's event and as Chromium's console error."""
    violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and violations.append(message.text)
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return violations


def visit(page, violations, path):
    response = page.goto(path)
    assert response.status < 500, path
    page.wait_for_load_state("load")
    assert not violations, (path, violations)
    return response


def test_no_page_violates_the_policy(page, live_server, redis_conn, settings):
    settings.ALLOW_SIGNUP = True
    owner = make_user("owner", staff=True)
    note = make_note(owner, "Remember the milk.", status=S.COMPLETED, title="Milk")
    make_note(owner, "A stuck one.", status=S.FAILED)
    django_rq.get_queue(settings.ENRICHMENT_QUEUE).enqueue("builtins.print", "visible")
    violations = watch(page)

    for path in ("/accounts/login/", "/accounts/signup/", "/admin/login/", "/notes/12345/"):
        visit(page, violations, path)
    log_in(page, "owner")
    response = visit(page, violations, "/notes/")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    for path in (
        "/notes/?q=milk",
        "/notes/new/",
        f"/notes/{note.pk}/",
        f"/notes/{note.pk}/edit/",
        f"/notes/{note.pk}/delete/",
        "/accounts/password_change/",
        "/admin/",
        "/admin/notes/note/",
        f"/admin/notes/note/{note.pk}/change/",
        "/admin/enrichment/enrichmentrun/",
        "/admin/enrichment/overview/",
        "/admin/auth/user/",
        "/admin/django_rq/dashboard/",
        "/admin/django_rq/dashboard/queues/0/",
        "/admin/django_rq/dashboard/queues/1/",
        "/admin/django_rq/dashboard/queues/0/failed/",
        "/admin/django_rq/dashboard/workers/0/",
    ):
        visit(page, violations, path)


def test_the_policy_blocks_what_it_should(page, live_server):
    violations = watch(page)
    page.goto("/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    assert page.evaluate("window.__ran === undefined")
    assert violations
