"""The image's web server for real: gunicorn with gunicorn.conf.py, production settings,
static files collected by the Dockerfile's own collectstatic step, and the healthcheck."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from devservices.redis import free_port
from tests.deploy.support import ROOT, clean_env, production_env
from tests.deploy.test_dockerfile import collectstatic_step
from tests.support.workers import database_url, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HOST = "notes.example.com"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(port, path, **headers):
    """(status, headers, body) of a GET to the local gunicorn, redirects not followed."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": HOST, **headers}
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def static_files():
    """Static files collected exactly as the Dockerfile's RUN step collects them (into
    staticfiles/, as in the image)."""
    env = clean_env({})
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"  # `python` = this venv
    subprocess.run(["sh", "-c", collectstatic_step()], cwd=ROOT, env=env, check=True, timeout=120)


@pytest.fixture
def gunicorn(static_files):
    port = free_port()
    env = production_env(
        PORT=port,
        DATABASE_URL=database_url(),
        GUNICORN_WORKERS=2,
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS=3600,
        BEHIND_TLS_PROXY="true",
        ALLOWED_HOSTS=HOST,
        HEALTH_TOKEN="health-token-for-the-referer-0001",
    )
    command = ["gunicorn", "--config", "gunicorn.conf.py", "notesite.wsgi"]
    command[0] = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.port = port
    process.env = env
    try:
        wait_until(lambda: probe(process) == 0 or process.poll() is not None, timeout=30)
        assert process.poll() is None, process.stdout.read()
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def probe(server, **env) -> int:
    """Run the container healthcheck (`python -m notesite.healthcheck`) against ``server``."""
    result = subprocess.run(
        [sys.executable, "-m", "notesite.healthcheck"],
        cwd=ROOT,
        env=clean_env({"PORT": str(server.port), "ALLOWED_HOSTS": HOST, **env}),
        capture_output=True,
        timeout=30,
    )
    return result.returncode


def test_gunicorn_runs_the_configured_number_of_workers(gunicorn):
    children = psutil.Process(gunicorn.pid).children()
    assert len(children) == 2


def test_the_healthcheck_passes_over_plain_http_even_with_ssl_redirect_on(gunicorn):
    assert probe(gunicorn) == 0
    status, _, body = fetch(gunicorn.port, "/health/live")
    assert status == 200


def test_the_healthcheck_fails_for_a_host_the_site_does_not_serve(gunicorn):
    assert probe(gunicorn, ALLOWED_HOSTS="other.example.org") == 1


def test_the_healthcheck_ignores_proxy_settings_and_does_not_follow_redirects(gunicorn):
    # A proxy that does not exist: the probe must not try to use it.
    assert probe(gunicorn, http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9") == 0
    # /admin/login/ redirects plain HTTP to https://notes.example.com: that is not health.
    url = f"http://127.0.0.1:{gunicorn.port}/admin/login/"
    result = subprocess.run(
        [sys.executable, "-m", "notesite.healthcheck", url],
        cwd=ROOT,
        env=clean_env({"ALLOWED_HOSTS": HOST}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "answered 301" in result.stderr


def test_plain_http_is_redirected_to_https(gunicorn):
    status, headers, _ = fetch(gunicorn.port, "/admin/login/")
    assert status == 301
    assert headers["Location"] == f"https://{HOST}/admin/login/"


def test_behind_the_tls_proxy_pages_get_hsts_and_secure_cookies(gunicorn):
    status, headers, _ = fetch(gunicorn.port, "/admin/login/", **{"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    csrf_cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken="))
    assert "Secure" in csrf_cookie


def test_static_files_are_hashed_compressed_and_cached_for_ever(gunicorn):
    _, _, page = fetch(gunicorn.port, "/admin/login/", **{"X-Forwarded-Proto": "https"})
    stylesheet = next(
        part.split('"')[0]
        for part in page.decode().split('href="')[1:]
        if part.startswith("/static/admin/css/base.")
    )
    assert stylesheet != "/static/admin/css/base.css"  # a content hash is in the name
    status, headers, _ = fetch(
        gunicorn.port, stylesheet, **{"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]


def test_sigterm_stops_gunicorn_gracefully_and_logs_requests_to_stdout(gunicorn):
    fetch(gunicorn.port, "/health/live")
    started = time.monotonic()
    gunicorn.send_signal(signal.SIGTERM)
    assert gunicorn.wait(15) == 0
    assert time.monotonic() - started < 10
    output = gunicorn.stdout.read()
    access = [json.loads(line) for line in output.splitlines() if '"gunicorn.access"' in line]
    assert any(e["path"] == "/health/live" and e["status_code"] == 200 for e in access)
    assert probe(gunicorn) == 1  # and the healthcheck notices it is gone


def test_every_gunicorn_line_is_json_and_secrets_in_urls_are_redacted(gunicorn):
    token = gunicorn.env["HEALTH_TOKEN"]
    fetch(
        gunicorn.port,
        "/health/?api_key=sk-live-abcdef123456&password=hunter2pass&page=3",
        Referer=f"https://{HOST}/notes/#{token}",
        **{"X-Forwarded-Proto": "https"},
    )
    gunicorn.send_signal(signal.SIGTERM)
    gunicorn.wait(15)
    output = gunicorn.stdout.read()
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    (access,) = [
        e for e in entries if e["logger"] == "gunicorn.access" and "?" in e.get("path", "")
    ]
    assert access["method"] == "GET"
    assert access["path"].startswith("/health/?api_key=[redacted]&password=[redacted]")
    assert access["status_code"] in (200, 503)
    assert access["remote_addr"] == "127.0.0.1"
    assert isinstance(access["duration_ms"], int)
    assert "[redacted]" in access["referer"]
    assert any(e["logger"] == "gunicorn.error" for e in entries)  # "Booting worker"...
    for secret in ("sk-live-abcdef123456", "hunter2pass", token):
        assert secret not in output
