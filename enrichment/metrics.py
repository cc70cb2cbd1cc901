"""Prometheus metrics: django-rq's RQ collector plus the application's own figures.

Cheap at scrape time by construction:

* note figures come from one GROUP BY on the indexed status column and two small
  queries restricted to the active statuses;
* run-history figures (durations, tokens, provider calls, failures, retries) cover the
  last ``METRICS_WINDOW`` seconds through the ``started_at`` index, aggregated in SQL
  (a fixed number of queries, never a Python loop over rows);
* the rendered answer is reused for ``METRICS_CACHE_SECONDS``, and a lock makes
  concurrent scrapes wait for one computation instead of running their own.

Run-history figures are therefore gauges over a sliding window ("in the last hour"),
not ever-growing counters: counting all history at every scrape would be a full scan of
a table that only grows, and the workers run in other processes (on other hosts) than
the web app that answers the scrape, so in-memory counters would not reach it.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from redis.exceptions import RedisError

from notes.models import Note
from notes.status import ProcessingStatus

from . import health
from .models import EnrichmentRun, RunOutcome

logger = logging.getLogger(__name__)

S = ProcessingStatus
# Enrichment takes from milliseconds (local) to minutes (a slow provider with retries).
# Upper bound for each metrics query.
STATEMENT_TIMEOUT_MS = 5000
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def _note_families(now) -> list:
    notes = health.note_figures(now)
    by_status = GaugeMetricFamily(
        "notesite_notes", "Notes by processing status.", labels=["status"]
    )
    for status, count in notes["counts"].items():
        by_status.add_metric([status], count)
    waiting_retry = Note.objects.filter(processing_status=S.QUEUED, retry_at__gt=now).count()
    return [
        by_status,
        GaugeMetricFamily(
            "notesite_notes_stuck",
            "Notes processing or queued far longer than they should be.",
            value=notes["stuck"],
        ),
        GaugeMetricFamily(
            "notesite_notes_waiting_retry",
            "Queued notes waiting for a scheduled retry.",
            value=waiting_retry,
        ),
        GaugeMetricFamily(
            "notesite_notes_oldest_queued_age_seconds",
            "Age of the oldest queued note (0 when none is queued).",
            value=notes["oldest_queued_age_seconds"] or 0,
        ),
    ]


def _run_families(now) -> list:
    window = settings.METRICS_WINDOW
    recent = EnrichmentRun.objects.filter(started_at__gte=now - timedelta(seconds=window))
    suffix = f" in the last METRICS_WINDOW ({window} s)."

    runs = GaugeMetricFamily(
        "notesite_enrichment_runs", "Enrichment attempts by outcome" + suffix, labels=["outcome"]
    )
    failures = GaugeMetricFamily(
        "notesite_enrichment_failures",
        "Failed attempts (failed, error, retry) by error kind" + suffix,
        labels=["error_kind"],
    )
    calls = GaugeMetricFamily(
        "notesite_provider_calls", "Provider calls by attempt outcome" + suffix, labels=["outcome"]
    )
    tokens = GaugeMetricFamily(
        "notesite_enrichment_tokens",
        "Tokens used by attempt outcome and direction" + suffix,
        labels=["outcome", "direction"],
    )
    by_outcome = {
        row["outcome"]: row
        for row in recent.order_by()
        .values("outcome")
        .annotate(
            n=Count("pk"),
            calls=Sum("provider_calls", default=0),
            tokens_in=Sum("input_tokens", default=0),
            tokens_out=Sum("output_tokens", default=0),
        )
    }
    for outcome in RunOutcome.values:
        total = by_outcome.get(outcome, {"n": 0, "calls": 0, "tokens_in": 0, "tokens_out": 0})
        runs.add_metric([outcome], total["n"])
        calls.add_metric([outcome], total["calls"])
        tokens.add_metric([outcome, "input"], total["tokens_in"])
        tokens.add_metric([outcome, "output"], total["tokens_out"])
    by_kind = recent.exclude(error_kind="").order_by("error_kind").values("error_kind")
    for row in by_kind.annotate(n=Count("pk")):
        failures.add_metric([row["error_kind"]], row["n"])
    retries = GaugeMetricFamily(
        "notesite_enrichment_retries",
        "Attempts that ended in a scheduled retry" + suffix,
        value=by_outcome.get(RunOutcome.RETRY, {"n": 0})["n"],
    )

    # All buckets in one query: COUNT(*) FILTER (WHERE duration_ms <= b) per bucket.
    timed = recent.filter(duration_ms__isnull=False)
    aggregates = {
        f"le_{i}": Count("pk", filter=Q(duration_ms__lte=bound * 1000))
        for i, bound in enumerate(DURATION_BUCKETS)
    }
    totals = timed.aggregate(n=Count("pk"), total_ms=Sum("duration_ms"), **aggregates)
    buckets = [(str(float(b)), totals[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)]
    buckets.append(("+Inf", totals["n"]))
    duration = GaugeHistogramMetricFamily(
        "notesite_enrichment_duration_seconds",
        "Duration of finished enrichment attempts" + suffix,
        buckets=buckets,
        gsum_value=(totals["total_ms"] or 0) / 1000,
    )
    window_gauge = GaugeMetricFamily(
        "notesite_metrics_window_seconds",
        "Length of the window the run-history figures cover.",
        value=window,
    )
    return [runs, failures, retries, calls, tokens, duration, window_gauge]


class ApplicationCollector:
    """Notes and run-history figures, computed from the database at scrape time."""

    def collect(self):
        now = timezone.now()
        up = GaugeMetricFamily(
            "notesite_up",
            "1 if the component answered during this scrape.",
            labels=["component"],
        )
        try:
            with transaction.atomic():
                # A slow database makes the scrape fail fast instead of piling up.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout = %s", [STATEMENT_TIMEOUT_MS])
                families = _note_families(now) + _run_families(now)
        except DatabaseError as exc:
            logger.warning("Metrics: database unavailable (%s)", type(exc).__name__)
            families = []
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
        yield from families
        try:
            health.redis_client().ping()
        except (RedisError, OSError):
            up.add_metric(["redis"], 0)
        else:
            up.add_metric(["redis"], 1)
        yield up


class GuardedRQCollector:
    """django-rq's RQ collector, skipped when Redis does not answer a quick ping: its own
    connection has the (long) ``REDIS_TIMEOUT``, which would stall the scrape."""

    def __init__(self):
        from django_rq.contrib.prometheus import RQCollector

        self.inner = RQCollector()

    def collect(self):
        try:
            health.redis_client().ping()
        except (RedisError, OSError):
            return
        try:
            yield from list(self.inner.collect())
        except RedisError as exc:
            logger.warning("Metrics: RQ figures unavailable (%s)", type(exc).__name__)


def build_registry() -> CollectorRegistry:
    """A registry of our own, so the endpoint shows exactly these collectors."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GuardedRQCollector())
    registry.register(ApplicationCollector())
    return registry


_registry: CollectorRegistry | None = None
_lock = threading.Lock()
_cached: tuple[float, bytes] | None = None


def render() -> bytes:
    """The metrics page in Prometheus text format, reused for METRICS_CACHE_SECONDS."""
    global _registry, _cached
    with _lock:
        now = time.monotonic()
        if _cached and _cached[0] > now:
            return _cached[1]
        if _registry is None:
            _registry = build_registry()
        output = generate_latest(_registry)
        _cached = (now + settings.METRICS_CACHE_SECONDS, output)
        return output


def clear_cache() -> None:
    """Forget the cached answer (tests, or after changing the data on purpose)."""
    global _cached
    with _lock:
        _cached = None
