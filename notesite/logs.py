"""Log formatting for the web server and the workers: JSON lines or readable text, and a
filter that keeps secrets out of every log line.

Selected in ``settings.LOGGING`` by ``LOG_FORMAT``. Context that the code passes with
``extra=`` (``note_id``, ``job_id``, ``attempt``, ``duration_ms``, ``old_status``,
``new_status``...) becomes top-level fields of the JSON line, or ``key=value`` pairs at
the end of a text line.
"""

import json
import logging
import os
import re
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
# Context fields listed first, in this order, when present.
CONTEXT_FIELDS = ("note_id", "job_id", "attempt", "duration_ms", "old_status", "new_status")

REDACTED = "[redacted]"

# user:password@ in any URL (redis://, postgres://, https://...): keep the user, hide the rest.
_URL_PASSWORD = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(?=@)", re.I)
# Bearer tokens and key=value style secrets, in headers, query strings or messages.
_BEARER = re.compile(r"(?P<prefix>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
_KEY_VALUE = re.compile(
    r"(?P<prefix>\b[\w-]*(?:api[_-]?key|password|passwd|secret|token)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"'&,;]+",
    re.I,
)
# Provider API keys look like sk-..., sk-proj-...: recognisable even without a label, and
# in the masked form providers echo back (sk-test***7890).
_API_KEY = re.compile(r"\bsk-[A-Za-z0-9_*-]{8,}")
# Environment variables whose values must never be written out, wherever they appear.
SECRET_ENV_VARS = (
    "SECRET_KEY",
    "OPENAI_API_KEY",
    "REDIS_PASSWORD",
    "HEALTH_TOKEN",
    "DATABASE_PASSWORD",
)


def _known_secrets() -> list[str]:
    # Short values would blank out ordinary words; real secrets are long.
    values = {os.environ.get(name, "") for name in SECRET_ENV_VARS}
    return sorted((v for v in values if len(v) >= 8), key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with passwords in URLs, API keys, bearer tokens and known secrets hidden."""
    if not text:
        return text
    for secret in _known_secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(rf"\g<prefix>{REDACTED}", text)
    text = _BEARER.sub(rf"\g<prefix>{REDACTED}", text)
    text = _KEY_VALUE.sub(rf"\g<prefix>{REDACTED}", text)
    return _API_KEY.sub(REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record so that no handler can write a secret.

    The message is rendered once (``msg % args``) and redacted, the traceback is
    formatted and redacted, and string values passed with ``extra=`` are redacted too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: still log something useful
            message = f"{record.msg!r} {record.args!r}"
        secrets = _known_secrets()
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
            # The formatter must use the redacted text, not format the exception again.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value, secrets))
        return True


_PLAIN = (str, int, float, bool, list, tuple, dict)


def _context(record: logging.LogRecord) -> dict:
    # Plain values only: Django attaches live objects (the request, runserver's socket)
    # whose repr is noise, and whose path is in the message already.
    extra = {
        k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS and isinstance(v, _PLAIN)
    }
    ordered = {k: extra.pop(k) for k in CONTEXT_FIELDS if extra.get(k) is not None}
    ordered.update(extra)
    return ordered


def _jsonable(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value  # always serialisable: the common case, without a trial encoding
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, then
    the record's context fields; ``exception`` holds the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _context(record).items():
            entry.setdefault(key, _jsonable(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-01-02 10:00:00,123 INFO notes.status Note 4: queued -> processing note_id=4``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context(record)
        if not context:
            return line
        pairs = " ".join(f"{key}={value}" for key, value in context.items())
        head, sep, tail = line.partition("\n")
        return f"{head} {pairs}{sep}{tail}"
