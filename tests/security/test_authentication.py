"""Throttled logins (django-axes), failed logins as structured events, and a sign-up that
is limited per address and never tells which usernames exist."""

import logging
import re

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-123"
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def redis_for_signups(redis_conn):
    return redis_conn


def attempt(client, page, username, password, ip="203.0.113.7"):
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_username_is_locked_after_repeated_failures_even_from_many_addresses(
    client, settings, page
):
    make_user("alice", staff=True)
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(client, page, "alice", f"wrong-{i}", ip=f"198.51.100.{i + 1}")
        # The form again with its error, until the failure that reaches the limit.
        assert response.status_code == (200 if i < settings.AXES_FAILURE_LIMIT - 1 else 429)
    response = attempt(client, page, "alice", PASSWORD, ip="192.0.2.99")
    assert response.status_code == 429
    assert not logged_in(client)


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_an_address_is_locked_after_repeated_failures_on_many_usernames(client, settings, page):
    make_user("victim", staff=True)
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, page, f"guess{i}", "wrong")
    assert attempt(client, page, "victim", PASSWORD).status_code == 429
    assert not logged_in(client)
    # Somebody else, elsewhere, still logs in.
    response = attempt(client, page, "victim", PASSWORD, ip="192.0.2.10")
    assert response.status_code == 302
    assert logged_in(client)


def test_a_few_failures_then_the_right_password_log_in(client, settings):
    make_user("carol")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "/accounts/login/", "carol", "nope")
    assert attempt(client, "/accounts/login/", "carol", PASSWORD).status_code == 302
    assert logged_in(client)


def test_failed_logins_are_logged_with_username_and_address_never_the_password(client, caplog):
    make_user("dave")
    with caplog.at_level(logging.WARNING, logger="notesite.security"):
        attempt(client, "/accounts/login/", "dave", "Sup3r-Secret-Guess!", ip="203.0.113.50")
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "login_failed"]
    assert record.username == "dave"
    assert record.ip == "203.0.113.50"
    assert record.path == "/accounts/login/"
    everything = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Sup3r-Secret-Guess!" not in everything


def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(client, settings, caplog):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    with caplog.at_level(logging.WARNING, logger="notesite.security"):
        client.post(
            "/accounts/login/",
            {"username": "x", "password": "y"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9",
        )
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "login_failed"]
    assert record.ip == "203.0.113.9"


# --- Sign-up ------------------------------------------------------------------------


def signup(client, username, ip="203.0.113.20", password="correct-horse-battery"):
    return client.post(
        "/accounts/signup/",
        {"username": username, "password1": password, "password2": password},
        REMOTE_ADDR=ip,
        follow=True,
    )


def without_per_request_tokens(response) -> str:
    # Per-request values: the CSRF token and the CSP nonce.
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "", text)
    return re.sub(r'nonce="[^"]+"', "", text)


def test_sign_up_answers_the_same_for_a_taken_and_a_free_username(client, settings):
    settings.ALLOW_SIGNUP = True
    existing = make_user("erin")
    taken = signup(client, "Erin", ip="203.0.113.21")
    free = signup(client, "frank", ip="203.0.113.22")
    assert taken.status_code == free.status_code == 200
    assert taken.redirect_chain == free.redirect_chain == [("/accounts/login/", 302)]
    assert without_per_request_tokens(taken) == without_per_request_tokens(free)
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD)  # the taken account is untouched


def test_sign_up_is_limited_per_address(client, settings):
    settings.ALLOW_SIGNUP = True
    for i in range(settings.SIGNUP_PER_IP_PER_HOUR):
        assert signup(client, f"new{i}").redirect_chain == [("/accounts/login/", 302)]
    response = signup(client, "one-too-many")
    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="one-too-many").exists()
    # Another address still signs up.
    assert signup(client, "elsewhere", ip="198.51.100.77").redirect_chain
