"""notesite settings: one file, every value from the environment (or an optional `.env`).

Every variable read here is listed, with a one-line explanation, in `.env.example`.
A malformed value stops start-up with an ImproperlyConfigured error naming the variable.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from notesite.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# READ_DOT_ENV=false (a real environment variable) ignores the file: the same .env that
# configures `docker compose` must not leak into the test suite or a one-off command.
_read_dot_env = os.environ.get("READ_DOT_ENV", "true").strip().lower() not in {"0", "false", "no"}
if _read_dot_env and (BASE_DIR / ".env").is_file():
    # Real environment variables win over the file.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def _invalid(name, value, expected):
    return ImproperlyConfigured(
        f"Environment variable {name} is invalid: expected {expected}, got {value!r}."
    )


def env_bool(name, default):
    """A strict boolean: django-environ quietly reads any unknown word as False."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _invalid(name, raw, "a boolean (true/false, 1/0, yes/no, on/off)")


def env_int(name, default, minimum=None):
    try:
        value = env.int(name, default=default)
    except (TypeError, ValueError):
        raise _invalid(name, env.str(name), "a whole number") from None
    if minimum is not None and value < minimum:
        raise _invalid(name, value, f"a whole number >= {minimum}")
    return value


def env_float(name, default, minimum=None):
    try:
        value = env.float(name, default=default)
    except (TypeError, ValueError):
        raise _invalid(name, env.str(name), "a number") from None
    if minimum is not None and value < minimum:
        raise _invalid(name, value, f"a number >= {minimum}")
    return value


def env_choice(name, default, choices):
    value = env.str(name, default=default).strip().lower()
    if value not in choices:
        raise _invalid(name, value, "one of " + ", ".join(sorted(choices)))
    return value


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Environment variable SECRET_KEY is required when DEBUG is off "
            "(set DEBUG=true for local development)."
        )
    # Development only: DEBUG must be on for this key to ever be used.
    SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_rq",
    "django_htmx",
    "axes",
    "notesite.apps.NotesiteConfig",
    "notes",
    "enrichment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "notesite.security.PrivatePagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "notesite.urls"
WSGI_APPLICATION = "notesite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

# PostgreSQL is the only engine: full-text search, JSON and the planner's estimates are
# used directly. `make run` and the tests start an embedded server when none is configured.
_database_url = env.str("DATABASE_URL", default="")
if not _database_url:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set. notesite needs a PostgreSQL server, for example "
            "DATABASE_URL=postgres://notesite:password@db:5432/notesite "
            "(`make run` starts an embedded one for development)."
        )
    _database_url = "postgres://postgres@127.0.0.1:5432/notesite"
try:
    DATABASES = {"default": env.db_url_config(_database_url)}
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    raise _invalid("DATABASE_URL", "<hidden>", f"a database URL ({exc})") from None
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise _invalid("DATABASE_URL", "<hidden>", "a PostgreSQL URL (postgres://...)")
# Connections are reused for a minute: one connect per request would double a page's
# round trips.
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Every connection starts in UTC (what Django uses with USE_TZ), so Django sends no
# SET TIME ZONE after connecting.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c TimeZone=UTC")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and queues -------------------------------------------------------

REDIS_TIMEOUT = 10


def _redis_url():
    url = env.str("REDIS_URL", default="redis://localhost:6379/0")
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise _invalid("REDIS_URL", "<hidden>", "a redis://, rediss:// or unix:// URL")
    # Short socket timeouts so that a hung Redis never hangs a web request for long;
    # RQ raises the read timeout of its own worker connection above its BLPOP timeout.
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_timeout", str(REDIS_TIMEOUT))
    query.setdefault("socket_connect_timeout", str(REDIS_TIMEOUT))
    query.setdefault("health_check_interval", "30")
    return urlunsplit(parts._replace(query=urlencode(query)))


REDIS_URL = _redis_url()

QUEUE_JOB_TIMEOUT = env_int("QUEUE_JOB_TIMEOUT", 600, minimum=1)
# A job that waits longer in a queue is dropped by RQ; the reaper delivers its note again.
QUEUE_JOB_TTL = 3600

# Fresh notes go to ENRICHMENT_QUEUE; bulk reprocessing goes to the bulk queue, which
# workers drain only when the main queue is empty, so a backlog never starves new notes.
ENRICHMENT_QUEUE = "note_enrichment"
ENRICHMENT_BULK_QUEUE = "note_enrichment_bulk"

RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": QUEUE_JOB_TIMEOUT}
    for name in (ENRICHMENT_QUEUE, ENRICHMENT_BULK_QUEUE)
}
RQ_SHOW_ADMIN_LINK = True
# We enqueue from our own transaction.on_commit hooks (notes.delivery), so that a failed
# enqueue is caught, logged with the note id and left for the reaper to repair.
RQ = {"COMMIT_MODE": "auto", "WORKER_CLASS": "enrichment.worker.NoteWorker"}

# --- Redis Sentinel (high availability) ------------------------------------

# With REDIS_SENTINELS set, every queue connection asks the Sentinels which server is the
# current master of REDIS_SENTINEL_MASTER, and follows a failover on reconnect. REDIS_URL
# then describes the master by its other parts: the credentials, the db number and TLS
# (rediss://); its host and port are the Sentinels' to give. Code that needs Redis goes
# through django_rq (notes.delivery.get_connection), so it follows the same configuration.


def _sentinel_address(item):
    host, sep, port = item.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise _invalid("REDIS_SENTINELS", item, "a comma-separated list of host:port")
    return (host.strip("[]"), int(port))


REDIS_SENTINELS = [_sentinel_address(item) for item in env.list("REDIS_SENTINELS", default=[])]
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="mymaster")

if REDIS_SENTINELS:
    _master = urlsplit(REDIS_URL)
    _master_kwargs = {
        "socket_connect_timeout": REDIS_TIMEOUT,
        "health_check_interval": 30,
    }
    if _master.username:
        _master_kwargs["username"] = unquote(_master.username)
    if _master.password:
        _master_kwargs["password"] = unquote(_master.password)
    if _master.scheme == "rediss":
        _master_kwargs["ssl"] = True
    # Sentinels usually have their own password (or none); they are asked with the same
    # timeouts as the master so that a dead Sentinel is skipped quickly.
    _sentinel_kwargs = {
        "socket_timeout": REDIS_TIMEOUT,
        "socket_connect_timeout": REDIS_TIMEOUT,
    }
    if env.str("REDIS_SENTINEL_PASSWORD", default=""):
        _sentinel_kwargs["password"] = env.str("REDIS_SENTINEL_PASSWORD")
    if env_bool("REDIS_SENTINEL_SSL", False):
        _sentinel_kwargs["ssl"] = True
    RQ_QUEUES = {
        name: {
            "SENTINELS": REDIS_SENTINELS,
            "MASTER_NAME": REDIS_SENTINEL_MASTER,
            "DB": int(_master.path.strip("/") or 0),
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
            # Master options go in CONNECTION_KWARGS: django-rq hands them to redis-py as
            # they are (ssl has no key of its own). Its dashboard rebuilds connections
            # from a filtered copy that drops SENTINEL_KWARGS, so with a Sentinel password
            # the dashboard's cron-scheduler list stays empty; queues and jobs still show.
            "CONNECTION_KWARGS": _master_kwargs,
            "SENTINEL_KWARGS": _sentinel_kwargs,
            "DEFAULT_TIMEOUT": QUEUE_JOB_TIMEOUT,
        }
        for name in (ENRICHMENT_QUEUE, ENRICHMENT_BULK_QUEUE)
    }

# --- Enrichment -------------------------------------------------------------

# "local", "openai", or the dotted path of an enricher class (a seam for custom backends).
ENRICHMENT_BACKEND = env.str("ENRICHMENT_BACKEND", default="local").strip()
if ENRICHMENT_BACKEND not in {"local", "openai"} and "." not in ENRICHMENT_BACKEND:
    raise _invalid("ENRICHMENT_BACKEND", ENRICHMENT_BACKEND, "local, openai or a dotted class path")
# Transient provider faults are retried up to this many times, with exponential backoff.
ENRICHMENT_MAX_RETRIES = env_int("ENRICHMENT_MAX_RETRIES", 4, minimum=0)
ENRICHMENT_RETRY_BASE_DELAY = env_float("ENRICHMENT_RETRY_BASE_DELAY", 10, minimum=0)

# --- LLM enrichment (ENRICHMENT_BACKEND=openai) ------------------------------

# Any OpenAI-compatible endpoint: OpenAI, Azure OpenAI, Ollama's /v1, vLLM, LM Studio...
# The key is never logged or shown; local servers usually accept any non-empty value.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="").strip()
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="").strip()
if OPENAI_BASE_URL and urlsplit(OPENAI_BASE_URL).scheme not in {"http", "https"}:
    raise _invalid("OPENAI_BASE_URL", OPENAI_BASE_URL, "an http:// or https:// URL")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="").strip()
# Seconds per provider request. Generous: a local model on a CPU can take minutes.
ENRICHMENT_TIMEOUT = env_float("ENRICHMENT_TIMEOUT", 300, minimum=1)
# Longer notes are split at paragraph and sentence boundaries, enriched part by part.
ENRICHMENT_MAX_INPUT_TOKENS = env_int("ENRICHMENT_MAX_INPUT_TOKENS", 6000, minimum=200)
# Input + output tokens allowed per UTC day (0 = unlimited); then notes wait, queued.
# Checked before every provider call, for everyone and for each person.
ENRICHMENT_DAILY_TOKEN_BUDGET = env_int("ENRICHMENT_DAILY_TOKEN_BUDGET", 0, minimum=0)
ENRICHMENT_PERSON_DAILY_TOKENS = env_int("ENRICHMENT_PERSON_DAILY_TOKENS", 0, minimum=0)
# Provider calls one note may make (its parts, merges and repairs); past it the note fails.
ENRICHMENT_MAX_CALLS_PER_NOTE = env_int("ENRICHMENT_MAX_CALLS_PER_NOTE", 20, minimum=1)
# Circuit breaker: after this many consecutive transient provider failures (all workers
# together), calls pause for the cool-down (seconds) instead of burning every note's
# retries. Fixed: five failures in a row is an outage for any provider, and a minute is
# long enough not to hammer it and short enough that notes barely notice; a provider's
# own Retry-After is honoured on top.
ENRICHMENT_BREAKER_THRESHOLD = 5
ENRICHMENT_BREAKER_COOLDOWN = 60

# --- Reliability: reaper, worker liveness, graceful shutdown -----------------

# The reaper also requeues any note PROCESSING longer than ENRICHMENT_STUCK_AFTER (set in
# the monitoring section): by then the job has been stopped at QUEUE_JOB_TIMEOUT.
# How often the reaper runs (`manage.py rqcron enrichment.cron`).
ENRICHMENT_REAPER_INTERVAL = env_int("ENRICHMENT_REAPER_INTERVAL", 60, minimum=1)
# Lost attempts (worker killed, job vanished) requeued per request before the note is ERROR.
ENRICHMENT_MAX_REAPS = 3
# Seconds a worker lets its current job finish after SIGTERM; then the note is queued again.
ENRICHMENT_SHUTDOWN_GRACE = env_int("ENRICHMENT_SHUTDOWN_GRACE", 20, minimum=1)
# A busy worker that has not sent a heartbeat for this many seconds counts as dead, and
# its job as abandoned. Workers send a heartbeat every third of it.
WORKER_LIVENESS_TTL = env_int("WORKER_LIVENESS_TTL", 90, minimum=3)
# The reaper's queue. The worker command names it first, so the reaper runs within seconds
# even behind a backlog of thousands of notes.
ENRICHMENT_MAINTENANCE_QUEUE = "note_maintenance"
# Same connection as the note queues (a URL or the Sentinels): one worker serves all three.
RQ_QUEUES[ENRICHMENT_MAINTENANCE_QUEUE] = {**RQ_QUEUES[ENRICHMENT_QUEUE], "DEFAULT_TIMEOUT": 300}

# --- Benchmarks -------------------------------------------------------------

# `manage.py bench` (docs/performance.md). It runs in its own database (<name>_bench) and
# in this Redis db number on the same server, which it flushes: never the application's.
INSTALLED_APPS += ["benchmarks"]
REDIS_BENCH_DB = 13

# --- Auth, i18n, static -----------------------------------------------------

# Failed logins (the people's login page and the admin's) lock out the username and,
# separately, the client address for AXES_COOLOFF_TIME after AXES_FAILURE_LIMIT
# failures; the attempts are kept in the database, so every gunicorn worker sees them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "notesite.security.client_ip"
# Failed logins are logged by notesite.security as structured events; axes' own lines
# name the same client in free text.
AXES_VERBOSE = False
# Open sign-ups one address may make per hour (ALLOW_SIGNUP).
SIGNUP_PER_IP_PER_HOUR = 5

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes and WhiteNoise serves from (/app/staticfiles in the image).
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

# --- Production: HTTPS, cookies, static files -------------------------------

# Cookies only travel over HTTPS outside development. Browsers treat http://localhost as
# secure, so a local `docker compose up` still logs in; turn off only for a plain-HTTP
# private network.
SECURE_COOKIES = not DEBUG
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES

# On by default outside development: docker compose serves HTTPS through its proxy
# (Caddyfile), with a local certificate until a real domain is set (README, "Deploying").
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Container and load-balancer probes and the Prometheus scraper talk plain HTTP to the
# app itself, inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
# HSTS makes browsers refuse plain HTTP for this many seconds: a modest hour by default,
# raised to a year once HTTPS is known to work everywhere.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600, minimum=0)
# Subdomains too, whenever HSTS is on: a subdomain served over plain HTTP could set
# cookies for this site.
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Never asks to be preloaded: once a domain that sends `preload` is submitted to the
# browsers' list (by anyone), leaving it takes months. `check --deploy` need not ask.
SECURE_HSTS_PRELOAD = False
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Behind a TLS-terminating proxy the app sees plain HTTP; the proxy says what the client
# used in X-Forwarded-Proto. Only trust it when the proxy always sets (overwrites) it,
# otherwise a client could claim HTTPS.
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (Django's own middleware): scripts and styles only from our
# static files, or inline with the request's nonce ({{ csp_nonce }}); no plugins, no
# framing, no <base> elsewhere. The django-rq dashboard adds the hashes of its own
# inline blocks (enrichment.admin).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Browser features no page uses, switched off for every page (PrivatePagesMiddleware).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)

# Hashed, compressed static files served by WhiteNoise with far-future cache headers.
# They need `collectstatic` first (the Docker image runs it at build time), so the test
# suite, which renders templates without collecting, turns this off.
STATICFILES_MANIFEST = env_bool("STATICFILES_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATICFILES_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Settings whose values embed credentials (REDIS_URL, the queues' URL) stay hidden on
# error pages and in error reports, like SECRET_KEY and passwords already are.
DEFAULT_EXCEPTION_REPORTER_FILTER = "notesite.reporting.SettingsHidingFilter"

# --- Logging ----------------------------------------------------------------

LOG_LEVEL = env_choice("LOG_LEVEL", "info", {"debug", "info", "warning", "error"}).upper()
# JSON lines for log shippers in production; readable text while developing.
LOG_FORMAT = "text" if DEBUG else "json"

# One configuration for the web server (gunicorn's own lines too), management commands
# and RQ workers: notesite.logs.logging_config.
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Monitoring: health, metrics, stuck notes --------------------------------

# Bearer token that lets a machine (monitoring, Prometheus) read the figures of /health/
# and /metrics without a staff session. Empty: only staff sessions see figures.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
# Upper bound, in seconds, for one /health/ answer; checks still running are reported down.
HEALTH_CHECK_TIMEOUT = 0.8
# Connect/read timeout of the dedicated Redis client used by health and metrics.
HEALTH_REDIS_TIMEOUT = 0.5
# A note PROCESSING longer than this (seconds) is stuck: its worker died or hangs.
ENRICHMENT_STUCK_AFTER = QUEUE_JOB_TIMEOUT + 120
# A note QUEUED (and not waiting for a scheduled retry) longer than this is stuck.
ENRICHMENT_QUEUED_STUCK_AFTER = 600
# Run-history figures in /metrics cover this many recent seconds (bounded, indexed queries).
METRICS_WINDOW = 3600
# Seconds a computed /metrics answer is reused, so frequent scrapes cost one query set.
METRICS_CACHE_SECONDS = 15

# --- People's pages (notes UI) ----------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "notes:list"
LOGOUT_REDIRECT_URL = "login"
# Open sign-up at /accounts/signup/; off by default: staff create accounts in the admin.
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)
# Largest note content accepted from a person, in bytes of UTF-8. 100 KB is about 50
# pages of prose: a few provider calls with an 8k-token local model, one with a large
# hosted one, well inside ENRICHMENT_MAX_CALLS_PER_NOTE.
NOTE_MAX_LENGTH = env_int("NOTE_MAX_LENGTH", 100_000, minimum=1)
# A form-encoded body can be three times the text it carries (%XX per non-ASCII byte).
# Leave room for a note twice the limit so that an over-long note comes back as a form
# error with the text kept, instead of Django refusing to read the request at all.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, 6 * NOTE_MAX_LENGTH + 65_536)
NOTES_PER_PAGE = 20
# How often (milliseconds) pages ask for the status of notes still queued or processing.
NOTE_STATUS_POLL_MS = 1500
TEMPLATES[0]["OPTIONS"]["context_processors"].append("notes.context_processors.ui")
