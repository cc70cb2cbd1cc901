"""The "Enrichment overview" admin page: the state of the pipeline at a glance.

Every figure is a bounded query: counts per status use the status index, time-based
figures read the run history of the last 24 hours through its ``started_at`` index, and
lists are capped. Redis figures come from the monitoring client (short timeouts), so a
down Redis shows as such instead of hanging the page.
"""

from datetime import UTC, timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Aggregate, Avg, Count, F, Q, Sum
from django.db.models.functions import TruncHour
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView
from redis.exceptions import RedisError

from notes import services
from notes.models import Note
from notes.status import ProcessingStatus

from . import health, limits
from .models import EnrichmentRun, RunOutcome

S = ProcessingStatus
STUCK_LIST_LIMIT = 20
CHART_HOURS = 24
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 160, 24

# The buttons of the page: POST action name -> statuses whose notes are queued again.
REPROCESS_ACTIONS = {
    "reprocess_failed": (S.FAILED,),
    "reprocess_error": (S.ERROR,),
}


def hourly_chart(now) -> dict:
    """Completed and failed attempts per hour over the last 24 hours, laid out as SVG bars.

    Failed counts both kinds of unsuccessful end (failed and error); retries are not
    failures yet and are left out.
    """
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=CHART_HOURS)
    rows = (
        EnrichmentRun.objects.filter(started_at__gte=start, finished_at__isnull=False)
        # Hours in UTC, like the slots below: local hours would not line up with them
        # in time zones with a half-hour offset.
        .annotate(hour=TruncHour("finished_at", tzinfo=UTC))
        .values("hour")
        .annotate(
            # A reused stored result completes the note too, without a provider call.
            completed=Count("pk", filter=Q(outcome__in=[RunOutcome.COMPLETED, RunOutcome.CACHED])),
            failed=Count("pk", filter=Q(outcome__in=[RunOutcome.FAILED, RunOutcome.ERROR])),
        )
        .order_by("hour")
    )
    by_hour = {row["hour"]: row for row in rows}
    hours = [start + timedelta(hours=i) for i in range(CHART_HOURS)]
    quiet = {"completed": 0, "failed": 0}
    counts = [by_hour.get(hour, quiet) for hour in hours]
    series = [(h, c["completed"], c["failed"]) for h, c in zip(hours, counts, strict=True)]
    peak = max([1, *(max(c, f) for _, c, f in series)])
    slot = (CHART_WIDTH - CHART_PAD) / CHART_HOURS
    bar = slot / 2 - 1
    plot_height = CHART_HEIGHT - CHART_PAD
    bars = []
    for i, (hour, completed, failed) in enumerate(series):
        x = CHART_PAD + i * slot
        for offset, value, kind in ((0, completed, "completed"), (bar, failed, "failed")):
            height = round(plot_height * value / peak, 1)
            bars.append(
                {
                    "x": round(x + offset, 1),
                    "y": round(plot_height - height, 1),
                    "width": round(bar, 1),
                    "height": height,
                    "kind": kind,
                    "value": value,
                    "hour": timezone.localtime(hour),
                }
            )
    labels = [
        {"x": round(CHART_PAD + i * slot, 1), "text": f"{timezone.localtime(h):%H:%M}"}
        for i, h in enumerate(hours)
        if i % 3 == 0
    ]
    return {
        "bars": bars,
        "labels": labels,
        "peak": peak,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "plot_height": plot_height,
        "total_completed": sum(c for _, c, _ in series),
        "total_failed": sum(f for _, _, f in series),
    }


class P95(Aggregate):
    """The 95th percentile, nearest rank (the value below which 95% of the rows fall)."""

    template = "percentile_disc(0.95) WITHIN GROUP (ORDER BY %(expressions)s)"


def duration_figures(now) -> dict:
    """Average and 95th percentile duration of completed attempts in the last 24 hours."""
    return EnrichmentRun.objects.filter(
        started_at__gte=now - timedelta(hours=24),
        outcome=RunOutcome.COMPLETED,
        duration_ms__isnull=False,
    ).aggregate(count=Count("pk"), avg_ms=Avg("duration_ms"), p95_ms=P95("duration_ms"))


def tokens_today(now) -> dict:
    """Tokens used since midnight UTC: the day the daily budget counts."""
    midnight = limits.start_of_today(now)
    totals = EnrichmentRun.objects.filter(started_at__gte=midnight).aggregate(
        input=Sum("input_tokens"), output=Sum("output_tokens"), calls=Sum("provider_calls")
    )
    totals = {key: value or 0 for key, value in totals.items()}
    totals["total"] = totals["input"] + totals["output"]
    return totals


def redis_figures() -> dict:
    conn = health.redis_client()
    try:
        conn.ping()
        return {
            "up": True,
            "workers": health.worker_figures(conn),
            "queues": [
                health.queue_figures(conn, name)
                for name in (settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE)
            ],
        }
    except (RedisError, OSError):
        return {"up": False}


class OverviewView(TemplateView):
    """Staff with ``enrichment.operate`` only (wrapped in ``admin.site.admin_view`` and
    ``operate_required`` in the URLconf)."""

    template_name = "admin/enrichment/overview.html"

    def get_context_data(self, **kwargs):
        now = timezone.now()
        notes = health.note_figures(now)
        changelist = reverse("admin:notes_note_changelist")
        statuses = [
            {
                "value": status.value,
                "label": status.label,
                "count": notes["counts"][status.value],
                "url": f"{changelist}?processing_status__exact={status.value}",
            }
            for status in S
        ]
        stuck = (
            Note.objects.filter(health.stuck_filter(now))
            .order_by("status_changed_at")
            .annotate(age=now - F("status_changed_at"))
            .only("pk", "title", "processing_status", "status_changed_at", "enrichment_data")[
                :STUCK_LIST_LIMIT
            ]
        )
        oldest_queued = (
            Note.objects.filter(processing_status=S.QUEUED).order_by("status_changed_at").first()
        )
        return {
            **super().get_context_data(**kwargs),
            **admin.site.each_context(self.request),
            "title": "Enrichment overview",
            "now": now,
            "statuses": statuses,
            "stuck_count": notes["stuck"],
            "stuck": stuck,
            "oldest_queued": oldest_queued,
            "oldest_queued_age": notes["oldest_queued_age_seconds"],
            "chart": hourly_chart(now),
            "durations": duration_figures(now),
            "tokens": tokens_today(now),
            "redis": redis_figures(),
            "backend": health.backend_check(),
        }

    def post(self, request, *args, **kwargs):
        statuses = REPROCESS_ACTIONS.get(request.POST.get("action", ""))
        if statuses is None:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(request.path)
        # Marked in keyset chunks inside PostgreSQL, then fed to the bulk queue: a mass
        # reprocess never delays notes people are writing now.
        queued = services.reprocess_selection(Note.objects.filter(processing_status__in=statuses))
        names = " and ".join(str(S(s).label).lower() for s in statuses)
        level = messages.SUCCESS if queued else messages.WARNING
        messages.add_message(
            request, level, f"{queued} {names} note(s) queued for reprocessing (bulk queue)."
        )
        return HttpResponseRedirect(request.path)
