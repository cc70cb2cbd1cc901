from django.contrib import admin, messages
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils.html import format_html

from . import services
from .models import Note
from .pagination import LargeTablePaginator
from .status import STATUS_COLOURS, ProcessingStatus


def status_badge(note: Note) -> str:
    status = ProcessingStatus(note.processing_status)
    return format_html(
        '<span class="status-badge status-{}" style="background:{};color:#fff;'
        'padding:2px 8px;border-radius:10px;font-size:11px;white-space:nowrap">{}</span>',
        status.value,
        STATUS_COLOURS[status],
        status.label,
    )


class OwnerListFilter(admin.RelatedFieldListFilter):
    """The owner filter, listed while a site has at most ``MAX_CHOICES`` users.

    Listing every user on every page view costs more than the page itself once there
    are thousands (docs/performance.md). Beyond the limit the filter is not shown; an
    ``?owner__id__exact=<id>`` link still filters, and search matches an exact username.
    """

    MAX_CHOICES = 200

    def field_choices(self, field, request, model_admin):
        users = field.related_model._default_manager.order_by("username")
        listed = list(users.values_list("pk", "username")[: self.MAX_CHOICES + 1])
        return [] if len(listed) > self.MAX_CHOICES else listed


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("title_column", "owner", "status_column", "processed_at", "updated_at")
    list_filter = ("processing_status", ("owner", OwnerListFilter))
    search_fields = ("title", "content", "=owner__username")
    list_select_related = ("owner",)
    date_hierarchy = None
    show_full_result_count = False
    # No full-table COUNT(*) per page view (see notes.pagination).
    paginator = LargeTablePaginator
    # Rendering the rows is the list's whole cost once counting is cheap: 100 rows took
    # about 50 ms on the benchmark machine; 50 keep it well under (docs/performance.md).
    list_per_page = 50
    actions = ["reprocess_selected", "reprocess_ignoring_cache"]

    def get_inlines(self, request, obj):
        # A note being added has no run history yet: no empty inline (and no formset to
        # submit) on the add page.
        return self.inlines if obj is not None else []

    readonly_fields = (
        "tokens_column",
        "status_column",
        "status_detail",
        "last_error",
        "enrichment_column",
        "processed_at",
        "attempts",
        "job_id",
        "created_at",
        "updated_at",
    )

    def get_fieldsets(self, request, obj=None):
        edit = [(None, {"fields": ("owner", "title", "content")})]
        if obj is None:
            return edit
        return edit + [
            (
                "Enrichment",
                {
                    "fields": (
                        "status_column",
                        "status_detail",
                        "last_error",
                        "enrichment_column",
                        "processed_at",
                        "tokens_column",
                    )
                },
            ),
            (
                "Pipeline",
                {
                    "classes": ("collapse",),
                    "fields": ("attempts", "job_id", "created_at", "updated_at"),
                },
            ),
        ]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            # The list shows titles, not bodies: don't read every note's content.
            queryset = queryset.defer("content", "last_error")
        return queryset

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description="Title", ordering="title")
    def title_column(self, note):
        return note.display_title

    @admin.display(description="Status", ordering="processing_status")
    def status_column(self, note):
        return status_badge(note)

    @admin.display(description="Enrichment")
    def enrichment_column(self, note):
        return render_to_string(
            "admin/notes/note/enrichment.html",
            {"data": note.enrichment_data or {}, "current": note.enrichment_is_current},
        )

    @admin.display(description="Tokens spent")
    def tokens_column(self, note):
        totals = note.runs.aggregate(
            i=Sum("input_tokens"), o=Sum("output_tokens"), c=Sum("provider_calls")
        )
        spent_in, spent_out = totals["i"] or 0, totals["o"] or 0
        return (
            f"{spent_in + spent_out} tokens ({spent_in} in, {spent_out} out) "
            f"in {totals['c'] or 0} provider calls, all runs"
        )

    def save_model(self, request, obj, form, change):
        # All writes go through the services, which own status changes and enqueueing.
        if not change:
            note = services.create_note(owner=obj.owner, content=obj.content, title=obj.title)
            obj.pk = note.pk
            obj.refresh_from_db()
            return
        original = Note.objects.get(pk=obj.pk)
        if obj.owner_id != original.owner_id:
            Note.objects.filter(pk=obj.pk).update(owner=obj.owner_id)
        services.update_note(original, content=obj.content, title=obj.title)

    @admin.action(description="Reprocess selected notes")
    def reprocess_selected(self, request, queryset):
        ids = _selected_ids(queryset)
        queued = services.reprocess_notes(ids)
        skipped = len(ids) - queued
        self.message_user(
            request,
            f"{queued} note(s) queued for reprocessing; "
            f"{skipped} skipped because they are already queued or processing.",
            messages.SUCCESS if queued else messages.WARNING,
        )

    @admin.action(description="Reprocess, ignoring cache")
    def reprocess_ignoring_cache(self, request, queryset):
        """Call the provider again even where a stored result could be reused."""
        ids = _selected_ids(queryset)
        queued = services.reprocess_notes(ids, ignore_cache=True)
        skipped = len(ids) - queued
        self.message_user(
            request,
            f"{queued} note(s) queued for a fresh provider call; "
            f"{skipped} skipped because they are already queued or processing.",
            messages.SUCCESS if queued else messages.WARNING,
        )


def _selected_ids(queryset) -> list[int]:
    """The ids an action applies to, in primary-key order.

    Not in the changelist's order (newest first): for "select all" PostgreSQL would read
    every row through ``note_created_idx`` and sort, four times slower at 100,000 notes
    than walking the primary key (docs/performance.md); and chunks of neighbouring ids
    touch fewer table pages.
    """
    return list(queryset.order_by("pk").values_list("pk", flat=True))
