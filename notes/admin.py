from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.db.models.functions import Substr
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from . import params, services
from .markdown import first_line
from .models import Note, Preferences
from .pagination import LargeTablePaginator
from .status import ProcessingStatus
from .templatetags.notes_ui import status_badge

S = ProcessingStatus
# Upper bound on the notes one badge request may ask about (a changelist page).
MAX_BADGES = 100


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


# A selection up to this size is queued within the request (a few UPDATEs); a larger
# one, up to "select all" of a million notes, is handed to a background job so that the
# page answers at once.
INLINE_REPROCESS = 5000


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = (
        "title_column",
        "owner",
        "status_column",
        "status_detail_column",
        "tags_column",
        "processed_at",
        "updated_at",
    )
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
    change_list_template = "admin/notes/note/change_list.html"
    change_form_template = "admin/notes/note/change_form.html"

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/reprocess/",
                self.admin_site.admin_view(self.reprocess_view),
                name="notes_note_reprocess",
            ),
            path("badges/", self.admin_site.admin_view(self.badges_view), name="notes_note_badges"),
        ]
        return urls + super().get_urls()

    def reprocess_view(self, request, object_id):
        """The change page's Reprocess and Regenerate buttons (POST only)."""
        note = get_object_or_404(Note, pk=object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_operate_permission(request):
            raise PermissionDenied
        regenerate = request.POST.get("mode") == "regenerate"
        if services.reprocess_note(note.pk, ignore_cache=regenerate):
            done = "queued to ask the model again" if regenerate else "queued for reprocessing"
            self.message_user(request, f"“{note}” {done}.", messages.SUCCESS)
        else:
            self.message_user(
                request, f"“{note}” is already queued or being processed.", messages.WARNING
            )
        return redirect("admin:notes_note_change", note.pk)

    def badges_view(self, request):
        """The badges of the notes asked about, each swapped in place by htmx, and the
        poller again for those still on their way."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = params.id_list(request.GET.get("ids", ""), MAX_BADGES) or []
        notes = list(Note.objects.filter(pk__in=ids).only("pk", "processing_status"))
        return render(
            request,
            "admin/notes/note/badges.html",
            {
                "badges": [status_badge(note, swap=True) for note in notes],
                "active_ids": [n.pk for n in notes if n.processing_status in S.active()],
            },
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["active_ids"] = [
                note.pk
                for note in context["cl"].result_list
                if note.processing_status in S.active()
            ]
        return response

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and obj.processing_status in S.active():
            context["active_ids"] = [obj.pk]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

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
        edit = [(None, {"fields": ("owner", "title", "content", "tags", "skip_enrichment")})]
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
            queryset = queryset.defer("content", "last_error").annotate(
                excerpt=Substr("content", 1, 200)
            )
        return queryset

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, note):
        """The admin's own row checkbox, written out: rendering a form widget through the
        template engine for every row was a quarter of the changelist's CPU."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            note.pk,
            note,
        )

    @admin.display(description="Title", ordering="title")
    def title_column(self, note):
        if hasattr(note, "excerpt"):
            return note.title or note.suggested_title or first_line(note.excerpt) or "—"
        return note.display_title

    @admin.display(description="Detail")
    def status_detail_column(self, note):
        return note.status_detail or "—"

    @admin.display(description="Tags")
    def tags_column(self, note):
        return ", ".join(note.tags) or "—"

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

    def has_operate_permission(self, request) -> bool:
        """Reprocessing spends provider calls on other people's notes: operators only."""
        # Named, not imported: the notes app never imports the enrichment app, which
        # defines the permission (enrichment.permissions).
        return request.user.is_staff and request.user.has_perm("enrichment.operate")

    @admin.action(description="Reprocess selected notes", permissions=["operate"])
    def reprocess_selected(self, request, queryset):
        self._reprocess(request, queryset, ignore_cache=False)

    @admin.action(description="Reprocess, ignoring cache", permissions=["operate"])
    def reprocess_ignoring_cache(self, request, queryset):
        """Call the provider again even where a stored result could be reused."""
        self._reprocess(request, queryset, ignore_cache=True)

    def _reprocess(self, request, queryset, *, ignore_cache: bool) -> None:
        what = "a fresh provider call" if ignore_cache else "reprocessing"
        ids = _selected_ids(queryset, limit=INLINE_REPROCESS)
        if len(ids) <= INLINE_REPROCESS:
            queued = services.reprocess_notes(ids, ignore_cache=ignore_cache)
            skipped = len(ids) - queued
            self.message_user(
                request,
                f"{queued} note(s) queued for {what}; "
                f"{skipped} skipped because they are already queued or processing.",
                messages.SUCCESS if queued else messages.WARNING,
            )
        elif services.reprocess_later(queryset, ignore_cache=ignore_cache):
            self.message_user(
                request,
                f"More than {INLINE_REPROCESS} notes selected: they are being queued for "
                f"{what} in the background (a job on the maintenance queue). Notes already "
                "queued or processing are left alone; the status filter shows the progress.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                "Nothing was queued: the job queue (Redis) is unreachable. Try again, or "
                "run `manage.py reprocess_notes` on a server.",
                messages.ERROR,
            )


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    """People's enrichment choices; staff turn model enrichment off for a person here."""

    list_display = (
        "user",
        "model_enrichment_disabled",
        "never_send_external",
        "enrichment_language",
        "auto_apply_suggestions",
    )
    list_filter = ("model_enrichment_disabled", "never_send_external")
    search_fields = ("=user__username",)
    raw_id_fields = ("user",)


def _selected_ids(queryset, *, limit: int) -> list[int]:
    """The ids an action applies to, in primary-key order, at most ``limit + 1`` of them
    (one more says the selection is larger: it is then handed to a job).

    Not in the changelist's order (newest first): for "select all" PostgreSQL would read
    every row through ``note_created_idx`` and sort; and chunks of neighbouring ids touch
    fewer table pages.
    """
    return list(queryset.order_by("pk").values_list("pk", flat=True)[: limit + 1])
