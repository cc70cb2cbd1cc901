"""Run history in the admin: inline on each note, and a read-only list with tokens per day."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from notes.admin import NoteAdmin
from notes.models import Note

from .models import EnrichmentRun

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


def _short_error(run: EnrichmentRun) -> str:
    text = run.error_message
    return text if len(text) <= 300 else text[:300] + "…"


class EnrichmentRunInline(admin.TabularInline):
    """Every attempt of the note, newest first. History is never edited by hand."""

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

    @admin.display(description="Error")
    def short_error(self, run):
        return _short_error(run)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def tokens_per_day(days: int = 14):
    """Token and call totals per UTC day, newest first, for the last ``days`` days."""
    since = timezone.now() - timedelta(days=days)
    return (
        EnrichmentRun.objects.filter(started_at__gte=since)
        .annotate(day=TruncDate("started_at"))
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
class EnrichmentRunAdmin(admin.ModelAdmin):
    """Read-only run history across notes, with token totals per day above the list."""

    change_list_template = "admin/enrichment/enrichmentrun/change_list.html"
    list_display = ("note", *RUN_FIELDS[:-2], "short_error")
    list_filter = ("outcome", "error_kind", "backend", "model", "prompt_version")
    search_fields = ("note__title", "job_id", "error_message")
    list_select_related = ("note",)
    date_hierarchy = "started_at"
    show_full_result_count = False

    @admin.display(description="Error")
    def short_error(self, run):
        return _short_error(run)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "tokens_per_day": tokens_per_day()}
        return super().changelist_view(request, extra_context=extra_context)


class NoteWithRunsAdmin(NoteAdmin):
    """The note admin with each note's run history. Registered from here, so that the
    notes app never imports the enrichment app (README, architecture)."""

    inlines = [EnrichmentRunInline]


admin.site.unregister(Note)
admin.site.register(Note, NoteWithRunsAdmin)
