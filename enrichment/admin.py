"""Run history in the admin: inline on each note, and a read-only list with tokens per day."""

import base64
import hashlib
import re
from datetime import UTC, timedelta
from functools import wraps
from pathlib import Path

import django_rq
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.urls.resolvers import URLPattern
from django.utils import timezone
from django.views.decorators.csp import csp_override
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard
from django_rq.queues import get_queue_by_index
from rq import Worker
from rq.exceptions import NoSuchJobError

from notes.admin import NoteAdmin
from notes.models import Note

from .models import EnrichmentRun
from .permissions import can_operate, operate_required

RUN_FIELDS = (
    "attempt",
    "outcome",
    "started_at",
    "duration_ms",
    "backend",
    "model",
    "prompt_version",
    "provider_calls",
    "input_tokens",
    "output_tokens",
    "error_kind",
    "short_error",
    "job_id",
)


class ReadOnlyRuns:
    """History is never edited by hand; long errors are cut in lists."""

    @admin.display(description="Error")
    def short_error(self, run):
        text = run.error_message
        return text if len(text) <= 300 else text[:300] + "…"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EnrichmentRunInline(ReadOnlyRuns, admin.TabularInline):
    """Every attempt of the note, newest first."""

    model = EnrichmentRun
    fields = RUN_FIELDS
    readonly_fields = RUN_FIELDS
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ("-started_at", "-id")
    verbose_name = "enrichment run"
    verbose_name_plural = "Run history"


def tokens_per_day(days: int = 14):
    """Token and call totals per UTC day, newest first, for the last ``days`` days."""
    since = timezone.now() - timedelta(days=days)
    return (
        EnrichmentRun.objects.filter(started_at__gte=since)
        # The budget's day (limits.start_of_today), whatever TIME_ZONE the site shows.
        .annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("day")
        .annotate(
            runs=Count("id"),
            calls=Sum("provider_calls"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
        )
        .order_by("-day")
    )


@admin.register(EnrichmentRun)
class EnrichmentRunAdmin(ReadOnlyRuns, admin.ModelAdmin):
    """Read-only run history across notes, with token totals per day above the list."""

    change_list_template = "admin/enrichment/enrichmentrun/change_list.html"
    list_display = ("note", *RUN_FIELDS[:-2], "short_error")
    list_filter = ("outcome", "error_kind", "backend", "model", "prompt_version")
    search_fields = ("note__title", "job_id", "error_message")
    list_select_related = ("note",)
    date_hierarchy = "started_at"
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "tokens_per_day": tokens_per_day()}
        return super().changelist_view(request, extra_context=extra_context)


# What RQ accepts as a job id; django-rq passes anything to RQ, which raises (500).
_JOB_ID = re.compile(r"[A-Za-z0-9_-]+\Z")


def known_queue(view):
    """404 for a queue index past the configured queues, a malformed job id, a job or a
    worker that does not exist, where django-rq answers 500."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if kwargs.get("queue_index", 0) >= len(settings.RQ_QUEUES):
            raise Http404("No such queue.")
        for key in ("job_id", "result_id"):
            if key in kwargs and not _JOB_ID.match(kwargs[key]):
                raise Http404("No such job.")
        if "key" in kwargs:
            queue = get_queue_by_index(kwargs.get("queue_index", 0))
            key = kwargs["key"]
            if not key.startswith(Worker.redis_worker_namespace_prefix) or (
                Worker.find_by_key(key, connection=queue.connection) is None
            ):
                raise Http404("No such worker.")
        try:
            return view(request, *args, **kwargs)
        except NoSuchJobError:
            raise Http404("No such job.") from None

    return wrapper


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def dashboard_csp() -> dict:
    """SECURE_CSP plus the hashes of the inline scripts, styles and style attributes in
    django-rq's own templates: its pages keep working under the policy, and nothing
    else inline runs there. Read from the installed templates, so an upgrade follows."""
    blocks, attributes = set(), set()
    for template in (Path(django_rq.__file__).parent / "templates").rglob("*.html"):
        text = template.read_text()
        for match in re.finditer(r"<(script|style)\b[^>]*>(.*?)</\1>", text, re.S):
            if match.group(2).strip():
                blocks.add(match.group(2))
        attributes.update(re.findall(r'style="([^"]*)"', text))
    hashes = sorted(_sha256(text) for text in blocks | attributes)
    policy = dict(settings.SECURE_CSP)
    policy["script-src"] = [*policy["script-src"], *hashes]
    policy["style-src"] = [*policy["style-src"], "'unsafe-hashes'", *hashes]
    return policy


class OperatorsDashboardAdmin(QueueAdmin):
    """django-rq's dashboard behind ``enrichment.operate``.

    django-rq lets any staff account in (it checks ``is_staff`` only), and its pages can
    empty queues and delete jobs: every one of its views, its stats and metrics API
    included, answers 403 to staff without the permission.
    """

    def has_module_permission(self, request):
        return can_operate(request.user)

    def has_view_permission(self, request, obj=None):
        return can_operate(request.user)

    def get_urls(self):
        policy = csp_override(dashboard_csp())
        return [
            URLPattern(
                url.pattern,
                operate_required(known_queue(policy(url.callback))),
                url.default_args,
                url.name,
            )
            for url in super().get_urls()
            if self._served(url)
        ]

    @staticmethod
    def _served(url) -> bool:
        if not isinstance(url, URLPattern):
            return False
        # No API token in the path: a path lands in access logs, and django-rq's
        # comparison of a non-ASCII one raises (500). The bearer header still works.
        if "token" in url.pattern.regex.groupindex:
            return False
        # rq-scheduler is not installed (RQ's own scheduler runs in the workers).
        if url.name == "django_rq_scheduler_jobs":
            return False
        # The dashboard has no table: the ModelAdmin's object pages could only fail.
        return "object_id" not in url.pattern.regex.groupindex and not (url.name or "").endswith(
            "_add"
        )


if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
admin.site.register(Dashboard, OperatorsDashboardAdmin)


class NoteWithRunsAdmin(NoteAdmin):
    """The note admin with each note's run history. Registered from here, so that the
    notes app never imports the enrichment app (README, architecture)."""

    inlines = [EnrichmentRunInline]


admin.site.unregister(Note)
admin.site.register(Note, NoteWithRunsAdmin)
