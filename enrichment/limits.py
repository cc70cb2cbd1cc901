"""Shared limits on provider calls, kept in Redis so that every worker sees the same state.

* :class:`CircuitBreaker`: after ``ENRICHMENT_BREAKER_THRESHOLD`` consecutive transient
  failures (counted across all workers), provider calls pause for
  ``ENRICHMENT_BREAKER_COOLDOWN`` seconds. Notes wait QUEUED meanwhile (through
  :class:`~enrichment.errors.BudgetExhausted`, which does not use up a retry), so an
  outage never burns the retries of a whole backlog at full speed.
* :func:`provider_slot`: at most ``ENRICHMENT_MAX_CONCURRENCY`` provider calls at once,
  across all workers. Slots expire, so a worker killed mid-call cannot leak one.
* :func:`check_daily_budget`: ``ENRICHMENT_DAILY_TOKEN_BUDGET`` tokens per UTC day, summed
  from the run history (the database is the source of truth).
"""

import hashlib
import time
import uuid
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from redis.exceptions import RedisError

from notes import delivery

from .errors import BudgetExhausted

PREFIX = "notesite:llm:"


def endpoint_id(base_url: str, model: str = "") -> str:
    """A short, stable id of an endpoint (and model) for Redis keys; never contains a secret."""
    return hashlib.sha256(f"{base_url}|{model}".encode()).hexdigest()[:16]


def _redis():
    return delivery.get_connection()


def _clock(seconds_from_now: float) -> str:
    at = timezone.now() + timedelta(seconds=seconds_from_now)
    return f"{timezone.localtime(at):%H:%M:%S}"


class CircuitBreaker:
    """Counts consecutive transient failures of one endpoint; opens after a threshold."""

    def __init__(self, endpoint: str):
        self.failures_key = f"{PREFIX}breaker:{endpoint}:failures"
        self.open_key = f"{PREFIX}breaker:{endpoint}:open"

    def check(self) -> None:
        """Raise BudgetExhausted while the breaker is open (the note waits, no retry used)."""
        ttl_ms = _redis().pttl(self.open_key)
        if ttl_ms and ttl_ms > 0:
            wait = ttl_ms / 1000
            reason = _redis().get(self.open_key) or b""
            raise BudgetExhausted(
                f"Provider paused after repeated failures ({reason.decode(errors='replace')}); "
                f"waiting until {_clock(wait)}",
                resume_after=wait,
            )

    def record_success(self) -> None:
        _redis().delete(self.failures_key)

    def record_failure(self, reason: str) -> bool:
        """Count one transient failure. Returns True if this failure opened the breaker."""
        conn = _redis()
        with conn.pipeline() as pipe:
            pipe.incr(self.failures_key)
            # Old failures do not add up forever: a quiet hour resets the count.
            pipe.expire(self.failures_key, 3600)
            count, _ = pipe.execute()
        if count >= settings.ENRICHMENT_BREAKER_THRESHOLD:
            cooldown_ms = max(1, int(settings.ENRICHMENT_BREAKER_COOLDOWN * 1000))
            conn.set(self.open_key, reason[:120], px=cooldown_ms)
            conn.delete(self.failures_key)
            return True
        return False


# Atomically drop expired holders, then take a slot if one is free. Returns 1 or 0.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 1
end
return 0
"""


@contextmanager
def provider_slot(endpoint: str, *, wait: float | None = None, hold: float | None = None):
    """Hold one of ``ENRICHMENT_MAX_CONCURRENCY`` provider-call slots for the block.

    Waits up to ``wait`` seconds for a slot, then raises BudgetExhausted so the note waits
    QUEUED (the worker is free for other work meanwhile). A slot expires after ``hold``
    seconds even if its holder died without releasing it.
    """
    limit = settings.ENRICHMENT_MAX_CONCURRENCY
    if not limit:
        yield
        return
    wait = settings.ENRICHMENT_TIMEOUT if wait is None else wait
    hold = settings.ENRICHMENT_TIMEOUT + 30 if hold is None else hold
    key = f"{PREFIX}slots:{endpoint}"
    member = uuid.uuid4().hex
    conn = _redis()
    script = conn.register_script(_ACQUIRE)
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        now_ms = int(time.time() * 1000)
        expires_ms = now_ms + int(hold * 1000)
        if script(keys=[key], args=[now_ms, expires_ms, limit, member, int(hold * 1000) + 1000]):
            break
        if time.monotonic() >= deadline:
            raise BudgetExhausted(
                f"All {limit} provider slots are busy (ENRICHMENT_MAX_CONCURRENCY); waiting",
                resume_after=5,
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    try:
        yield
    finally:
        # Redis may be gone by now; the slot then expires by itself after ``hold``.
        with suppress(RedisError):
            conn.zrem(key, member)


def tokens_spent_today() -> int:
    """Input + output tokens recorded in the run history since midnight UTC."""
    from .models import EnrichmentRun

    # timezone.now() is in UTC (USE_TZ), so the day starts at UTC midnight.
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    totals = EnrichmentRun.objects.filter(started_at__gte=midnight).aggregate(
        i=Sum("input_tokens"), o=Sum("output_tokens")
    )
    return (totals["i"] or 0) + (totals["o"] or 0)


def seconds_until_midnight_utc(now: datetime | None = None) -> float:
    now = now or timezone.now()
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (tomorrow - now).total_seconds())


def check_daily_budget() -> None:
    """Raise BudgetExhausted when today's token budget is spent; the note resumes later."""
    budget = settings.ENRICHMENT_DAILY_TOKEN_BUDGET
    if not budget:
        return
    spent = tokens_spent_today()
    if spent >= budget:
        # Wake up at most hourly: an operator may raise the budget in the meantime.
        wait = min(seconds_until_midnight_utc(), 3600.0)
        raise BudgetExhausted(
            f"Daily token budget spent ({spent} of {budget} tokens); waiting until {_clock(wait)}",
            resume_after=wait,
        )


# --- What an endpoint supports -------------------------------------------------------

MODES = ("json_schema", "json_object", "plain")
MODE_TTL = 24 * 3600


def remembered_mode(endpoint: str) -> str:
    """The richest output mode this endpoint accepted (or json_schema if unknown)."""
    value = _redis().get(f"{PREFIX}mode:{endpoint}")
    mode = value.decode() if value else MODES[0]
    return mode if mode in MODES else MODES[0]


def remember_mode(endpoint: str, mode: str) -> None:
    """Remember for a day, so that a server upgrade gets a fresh chance at structured output."""
    _redis().set(f"{PREFIX}mode:{endpoint}", mode, ex=MODE_TTL)
