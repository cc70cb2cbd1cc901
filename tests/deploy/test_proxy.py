"""The Caddy proxy in docker-compose.yml, checked against the Caddyfile and the project:
it reaches gunicorn where gunicorn listens, it is the only way in, and the application
behind it is configured for HTTPS through it (`check --deploy` clean)."""

import re
import secrets

from django.conf import settings
from django.urls import resolve

from tests.deploy.files import compose, interpolate
from tests.deploy.support import ROOT, load_settings, run_manage
from tests.deploy.test_compose import FILLED_ENV, service

CADDYFILE = (ROOT / "Caddyfile").read_text()


def caddy_placeholders() -> dict:
    """{$NAME:default} placeholders of the Caddyfile: name -> default."""
    return dict(re.findall(r"\{\$([A-Z_]+):?([^}]*)\}", CADDYFILE))


def web_environment() -> dict:
    web = interpolate(service("web"), FILLED_ENV)
    return {**FILLED_ENV, **web["environment"]}


def size_in_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]?B)", text).groups()
    return int(number) * {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}[unit]


def test_the_proxy_forwards_to_the_port_gunicorn_listens_on():
    (upstream,) = re.findall(r"reverse_proxy\s+(\S+)", CADDYFILE)
    host, port = upstream.split(":")
    assert host == "web"
    assert web_environment()["PORT"] == port
    assert port in [str(p) for p in service("web")["expose"]]


def test_only_the_proxy_is_published():
    published = {name for name, svc in compose()["services"].items() if "ports" in svc}
    assert published == {"proxy"}
    ports = interpolate(service("proxy")["ports"], {})
    assert {p.split(":")[-1] for p in ports} == {"80", "443"}


def test_the_proxy_runs_this_caddyfile_and_can_read_local_certificates():
    volumes = service("proxy")["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in volumes
    assert "./certs:/certs:ro" in volumes
    assert any(v.startswith("caddy-data:/data") for v in volumes)  # certificates survive


def test_every_caddyfile_placeholder_is_given_by_compose_with_the_same_default():
    environment = service("proxy")["environment"]
    for name, default in caddy_placeholders().items():
        assert name in environment, name
        assert environment[name] == f"${{{name}:-{default}}}", name


def test_the_proxy_waits_for_a_healthy_web_and_probes_a_url_the_project_serves():
    assert service("proxy")["depends_on"] == {"web": {"condition": "service_healthy"}}
    (health,) = re.findall(r"health_uri\s+(\S+)", CADDYFILE)
    assert resolve(health).url_name == "health-live"


def test_the_proxy_buffers_whole_requests_as_large_as_the_application_accepts():
    (max_size,) = re.findall(r"max_size\s+(\S+)", CADDYFILE)
    (buffers,) = re.findall(r"request_buffers\s+(\S+)", CADDYFILE)
    assert (
        size_in_bytes(buffers) >= size_in_bytes(max_size) >= (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    )
    assert "read_header" in CADDYFILE  # a trickled header is cut off


def test_behind_the_proxy_the_application_sees_https_and_keeps_cookies_secure():
    loaded = load_settings(
        web_environment(),
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    )
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert 0 < loaded["SECURE_HSTS_SECONDS"] <= 86400  # modest: easy to back out of
    assert loaded["SESSION_COOKIE_SECURE"] is loaded["CSRF_COOKIE_SECURE"] is True


def test_check_deploy_is_clean_with_the_compose_defaults():
    # FILLED_ENV's placeholder key is too uniform for check --deploy; a real one is not.
    env = {**web_environment(), "SECRET_KEY": secrets.token_urlsafe(50)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
