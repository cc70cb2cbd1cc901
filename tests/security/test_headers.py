"""Security headers on every page: the CSP directives, a Permissions-Policy, and pages with
note content kept out of every cache."""

import pytest

from tests.factories import make_note

pytestmark = pytest.mark.django_db


def directives(response) -> dict:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_the_policy_forbids_inline_code_plugins_framing_and_foreign_bases(client):
    policy = directives(client.get("/accounts/login/"))
    # Every script and style is a file of the site's own: no nonce is even needed.
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] + policy["style-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


def test_every_response_has_a_permissions_policy(client):
    for path in ("/accounts/login/", "/health/live", "/notes/"):
        assert "camera=()" in client.get(path).headers["Permissions-Policy"]


def test_pages_with_note_content_are_private_and_never_stored(client, user):
    note = make_note(user, "Private thoughts.")
    client.force_login(user)
    for path in ("/notes/", f"/notes/{note.pk}/", f"/notes/{note.pk}/status/", "/notes/status/"):
        cache_control = client.get(path).headers["Cache-Control"]
        assert "private" in cache_control and "no-store" in cache_control, path


def test_the_dashboard_allows_only_its_own_inline_blocks(admin_client, redis_conn):
    policy = directives(admin_client.get("/admin/django_rq/dashboard/"))
    assert any(source.startswith("'sha256-") for source in policy["script-src"])
    assert "'unsafe-inline'" not in policy["script-src"]
