"""Production settings, each case in a fresh process with a production-like environment."""

import pytest

from tests.deploy.support import SettingsError, load_settings, production_env, run_manage

HTTPS_ON = {
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "BEHIND_TLS_PROXY": "true",
}


def test_check_deploy_is_clean_in_a_production_environment_with_https_on():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(**HTTPS_ON)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_what_is_missing_when_https_is_turned_off():
    # The same check must be able to fail: turned off, check --deploy says what is missing.
    off = production_env(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=off)
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # HSTS
    assert "security.W008" in result.stderr  # SSL redirect


def test_without_debug_a_secret_key_is_required():
    env = production_env()
    del env["SECRET_KEY"]
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load_settings(env, "SECRET_KEY")


def test_hosts_and_trusted_origins_come_from_the_environment():
    loaded = load_settings(
        production_env(
            ALLOWED_HOSTS="notes.example.com,.internal.example",
            CSRF_TRUSTED_ORIGINS="https://notes.example.com,https://admin.example.com",
        ),
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
    )
    assert loaded["ALLOWED_HOSTS"] == ["notes.example.com", ".internal.example"]
    assert loaded["CSRF_TRUSTED_ORIGINS"] == [
        "https://notes.example.com",
        "https://admin.example.com",
    ]


def test_without_debug_cookies_are_secure_and_static_files_hashed_by_default():
    loaded = load_settings(
        production_env(), "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "STORAGES"
    )
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert (
        loaded["STORAGES"]["staticfiles"]["BACKEND"]
        == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


def test_with_debug_cookies_work_over_plain_http_and_static_files_need_no_collectstatic():
    loaded = load_settings(
        {"DEBUG": "true"}, "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "STORAGES"
    )
    assert loaded["SESSION_COOKIE_SECURE"] is False
    assert loaded["CSRF_COOKIE_SECURE"] is False
    assert (
        loaded["STORAGES"]["staticfiles"]["BACKEND"]
        == "django.contrib.staticfiles.storage.StaticFilesStorage"
    )


def test_https_settings_are_on_by_default_with_a_modest_hsts():
    loaded = load_settings(
        production_env(),
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 3600
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    # Trusting X-Forwarded-Proto stays a deliberate choice (compose makes it for its proxy).
    assert loaded["SECURE_PROXY_SSL_HEADER"] is None


def test_https_settings_are_switched_on_by_the_environment():
    loaded = load_settings(
        production_env(**HTTPS_ON),
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REDIRECT_EXEMPT",
    )
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is False  # never asked for by the settings alone
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert loaded["SECURE_REDIRECT_EXEMPT"] == ["^health/", "^metrics$"]


def test_a_misspelt_https_switch_stops_start_up_instead_of_meaning_off():
    with pytest.raises(SettingsError, match="SECURE_SSL_REDIRECT is invalid"):
        load_settings(production_env(SECURE_SSL_REDIRECT="ture"), "SECURE_SSL_REDIRECT")


def test_hsts_leaves_subdomains_alone_when_it_is_off():
    off = production_env(SECURE_HSTS_SECONDS="0")
    loaded = load_settings(off, "SECURE_HSTS_INCLUDE_SUBDOMAINS")
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
