"""Logging for the web app, gunicorn and the workers: JSON lines (python-json-logger) or
readable text, and one redaction function, :func:`redact`, that keeps secrets out of every
log line and out of anything stored from a provider.

:func:`logging_config` is the one configuration: ``settings.LOGGING`` and gunicorn's
``logconfig_dict`` both use it, JSON unless ``DEBUG`` is on. Context that the code passes
with ``extra=`` (``note_id``, ``job_id``, ``attempt``, ``duration_ms``, ``old_status``,
``new_status``...) becomes top-level fields of the JSON line, or ``key=value`` pairs at
the end of a text line.
"""

import logging
import os
import re

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)

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
# Every value of a URL's query string: a link or a probe can carry a token under any name.
_QUERY_VALUE = re.compile(r"(?P<prefix>(?:\?|&)[^=&\s#?]+=)(?!\[redacted\])[^&\s#\"']+")
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
    """``text`` with passwords in URLs, query-string values, API keys, bearer tokens,
    ``token=``/``password=``/``api_key=`` pairs and known secrets hidden.

    The one redaction of the project: log lines and provider text stored or shown.
    """
    if not text:
        return text
    for secret in _known_secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(rf"\g<prefix>{REDACTED}", text)
    text = _BEARER.sub(rf"\g<prefix>{REDACTED}", text)
    text = _KEY_VALUE.sub(rf"\g<prefix>{REDACTED}", text)
    text = _QUERY_VALUE.sub(rf"\g<prefix>{REDACTED}", text)
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


class ClientErrorFilter(logging.Filter):
    """A 4xx is the client's mistake: one line, without the traceback of the Http404 or
    PermissionDenied that produced it. Tracebacks stay for what is really broken (5xx)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.exc_info = None
            record.exc_text = None
        return True


class GunicornAccessFilter(logging.Filter):
    """gunicorn's access line as fields (method, path, status...), query string and
    Referer redacted, instead of its Apache-style text with the query string verbatim."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not isinstance(atoms, dict) or "U" not in atoms:
            return True
        query = atoms.get("q") or ""
        path = atoms["U"] + (redact("?" + query, []) if query else "")
        record.method = atoms.get("m")
        record.path = path
        record.status_code = int(atoms["s"]) if str(atoms.get("s", "")).isdigit() else None
        record.duration_ms = atoms.get("M")
        record.response_bytes = atoms.get("B")
        record.remote_addr = atoms.get("h")
        record.referer = redact(atoms.get("f") or "", [])
        record.user_agent = atoms.get("a")
        record.msg = f"{record.method} {path} {atoms.get('s')}"
        record.args = None
        return True


# Plain values only: Django attaches live objects (the request, runserver's socket) whose
# repr is noise, can carry an unredacted query string, and whose path is in the message.
_PLAIN = (str, int, float, bool, list, tuple, dict, type(None))


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, then
    the record's context fields; ``exception`` holds the traceback when there is one."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
                "stack_info": "stack",
            },
            timestamp=True,
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data):
        stamp = log_data.pop("timestamp").isoformat(timespec="milliseconds")
        fields = {k: v for k, v in log_data.items() if isinstance(v, _PLAIN)}
        return {"timestamp": stamp, **fields}


class TextFormatter(logging.Formatter):
    """``2026-01-02 10:00:00,123 INFO notes.status Note 4: queued -> processing note_id=4``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = {
            k: v
            for k, v in record.__dict__.items()
            if k not in _RECORD_ATTRS and v is not None and isinstance(v, _PLAIN)
        }
        if not context:
            return line
        pairs = " ".join(f"{key}={value}" for key, value in context.items())
        head, sep, tail = line.partition("\n")
        return f"{head} {pairs}{sep}{tail}"


def logging_config(*, level: str = "INFO", fmt: str = "json") -> dict:
    """The ``dictConfig`` of every process: Django (``settings.LOGGING``), gunicorn's
    master and workers (``logconfig_dict``), management commands and RQ workers.

    rqworker's setup_loghandlers() adds its own (coloured, non-JSON) handlers only when no
    ancestor logger has a handler, and the root handler below always exists, so worker
    lines come out in the same format. The redaction filter sits on the handlers, so it
    sees every record, third-party libraries' included.
    """
    handlers = {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": fmt,
            "filters": ["redact"],
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "notesite.logs.RedactSecretsFilter"},
            "client_errors": {"()": "notesite.logs.ClientErrorFilter"},
            "gunicorn_access": {"()": "notesite.logs.GunicornAccessFilter"},
        },
        "formatters": {
            "json": {"()": "notesite.logs.JsonFormatter"},
            "text": {"()": "notesite.logs.TextFormatter"},
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            # Django's defaults give "django" its own plain-text console handler (with
            # DEBUG) and "django.server" a private one: route both through ours instead,
            # so every line has the same format and passes the redaction filter once.
            # The level applies to them too (Django's defaults pin them at INFO).
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.request": {"filters": ["client_errors"]},
            "django.security": {"filters": ["client_errors"]},
            "django.server": {"handlers": list(handlers), "level": level, "propagate": False},
            "django.db.backends": {"level": "INFO"},
            # gunicorn's own lines (the arbiter, worker boots, the access log) go to the
            # same handlers: gunicorn otherwise writes plain text past the redaction.
            "gunicorn.error": {"handlers": [], "level": level, "propagate": True},
            "gunicorn.access": {
                "handlers": [],
                "filters": ["gunicorn_access"],
                "level": "INFO",
                "propagate": True,
            },
        },
    }
