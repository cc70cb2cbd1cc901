"""Structured logs: JSON lines with context fields, one config for web and worker, and no
secrets in any line."""

import io
import json
import logging
import subprocess
import sys

import pytest
from django.conf import settings

from notes import services
from notes.models import Note
from notes.status import ProcessingStatus
from notesite.logs import JsonFormatter, RedactSecretsFilter, TextFormatter
from tests.factories import make_user
from tests.support.workers import ROOT, run_burst_worker, worker_env

S = ProcessingStatus


@pytest.fixture
def capture():
    """A logger wired like settings.LOGGING's handlers, writing into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.capture")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, lines, handler
    logger.removeHandler(handler)


def test_a_json_line_has_the_standard_and_context_fields(capture):
    logger, lines, _ = capture
    logger.info(
        "Note %s enriched in %d ms",
        7,
        42,
        extra={"note_id": 7, "job_id": "note-7-abc", "attempt": 2, "duration_ms": 42},
    )
    (entry,) = lines()
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.capture"
    assert entry["message"] == "Note 7 enriched in 42 ms"
    assert entry["timestamp"].endswith("+00:00")
    assert (entry["note_id"], entry["job_id"], entry["attempt"], entry["duration_ms"]) == (
        7,
        "note-7-abc",
        2,
        42,
    )


def test_the_settings_use_json_outside_debug_with_the_redaction_filter():
    assert settings.LOG_FORMAT == "json"
    handler = settings.LOGGING["handlers"]["stdout"]
    assert handler["formatter"] == "json"
    assert handler["filters"] == ["redact"]
    root = logging.getLogger()
    assert any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
    # Django's own loggers go through the same handlers, not a second plain-text one.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django").propagate is True
    assert logging.getLogger("django").level == logging.getLevelName(settings.LOG_LEVEL)


SECRETS = {
    "url": ("Connecting to redis://:hunter2-secret@cache.internal:6379/0", "hunter2-secret"),
    "db": ("postgres://notesite:pg-Pass-123@db:5432/notesite failed", "pg-Pass-123"),
    "api key": ("openai said: invalid key sk-proj-AbCdEf0123456789xyz", "AbCdEf0123456789"),
    "header": ("headers={'Authorization': 'Bearer tok-987654321zz'}", "tok-987654321zz"),
    "pair": ("retrying with api_key=live-key-5555 and password: p4ss-w0rd!", "live-key-5555"),
}


@pytest.mark.parametrize("text, secret", SECRETS.values(), ids=SECRETS.keys())
def test_secrets_in_messages_are_redacted(capture, text, secret):
    logger, lines, _ = capture
    logger.warning("%s", text)
    (entry,) = lines()
    assert secret not in entry["message"]
    assert "[redacted]" in entry["message"]


def test_secrets_in_tracebacks_and_extra_fields_are_redacted(capture, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "plain-looking-provider-key-000")
    logger, lines, _ = capture
    try:
        raise ConnectionError("could not reach https://user:tr4ceback-pw@api.example.com/v1")
    except ConnectionError:
        logger.exception(
            "Provider call failed", extra={"detail": "key plain-looking-provider-key-000"}
        )
    (entry,) = lines()
    assert "tr4ceback-pw" not in entry["exception"]
    assert "ConnectionError" in entry["exception"]
    assert "plain-looking-provider-key-000" not in entry["detail"]


def test_the_text_format_keeps_the_context_readable():
    record = logging.LogRecord(
        "notes.status", logging.INFO, "", 0, "Note %s: %s -> %s", (3, "a", "b"), None
    )
    record.note_id = 3
    record.old_status = "queued"
    record.new_status = "processing"
    line = TextFormatter().format(record)
    assert line.endswith(
        "INFO notes.status Note 3: a -> b note_id=3 old_status=queued new_status=processing"
    )


def _run_manage(code, tmp_path, **env):
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=worker_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db
def test_debug_defaults_to_text_and_django_logs_once(tmp_path):
    result = _run_manage(
        "import logging; logging.getLogger('notesite.check').warning('plain text please');"
        "logging.getLogger('django.request').error('from django')",
        tmp_path,
        DEBUG="true",
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines[-2].endswith("WARNING notesite.check plain text please")
    assert lines[-1].endswith("ERROR django.request from django")
    assert sum("from django" in line for line in lines) == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_json_lines_with_every_status_change_once(redis_conn):
    note = services.create_note(owner=make_user(), content="Log my journey, please.")

    result = run_burst_worker(LOG_LEVEL="info")  # DEBUG is off: JSON

    assert result.returncode == 0, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, rq's own included, is JSON
    assert any(e["logger"] == "rq.worker" for e in entries)
    changes = [e for e in entries if e.get("note_id") == note.pk and "new_status" in e]
    assert [(e["old_status"], e["new_status"]) for e in changes] == [
        ("queued", "processing"),
        ("processing", "completed"),
    ]
    done = next(e for e in entries if e["message"].startswith(f"Note {note.pk} enriched in"))
    assert done["job_id"] == note.job_id
    assert done["attempt"] == 1
    assert done["duration_ms"] >= 0
    assert Note.objects.get(pk=note.pk).processing_status == S.COMPLETED


def test_live_objects_passed_by_django_are_left_out(capture):
    logger, lines, _ = capture
    logger.error("Internal Server Error: /x", extra={"request": object(), "status_code": 500})
    (entry,) = lines()
    assert entry["status_code"] == 500
    assert "request" not in entry


def test_every_query_string_value_is_redacted_but_the_path_is_kept(capture):
    logger, lines, _ = capture
    logger.info("GET /health/?api_key=sk-live-abc123456789&page=2&sig=Zm9vYmFy HTTP/1.1")
    (entry,) = lines()
    assert entry["message"] == (
        "GET /health/?api_key=[redacted]&page=[redacted]&sig=[redacted] HTTP/1.1"
    )


def test_the_one_redaction_covers_what_providers_echo():
    from notesite.logs import redact

    text = redact(
        "upstream redis://:hunter2pass@10.0.0.5:6379/0 said token=tok_ABCDEF123456 "
        "and Authorization: Bearer sk-abcdefghijkl"
    )
    for secret in ("hunter2pass", "tok_ABCDEF123456", "sk-abcdefghijkl"):
        assert secret not in text


@pytest.mark.django_db
def test_a_client_error_is_one_line_without_a_traceback(client, caplog):
    client.force_login(make_user())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/notes/?page=99999999999999999999").status_code == 404
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and record.exc_text is None
