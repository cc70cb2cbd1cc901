"""The people's pages: their own notes, written, found, watched and fixed.

Every note lookup is scoped to ``owner=request.user``, so somebody else's note is a 404
(never a 403, which would reveal that it exists), for every method. Every write goes
through :mod:`notes.services`, which owns status changes and enqueueing.
"""

import copy
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.hashers import make_password
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Substr
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.views import View
from django.views.generic import CreateView, FormView, ListView

from notesite import security

from . import checklists, params, search, services, tagging
from .forms import NoteFilterForm, NoteForm, PreferencesForm, SignUpForm, TagRenameForm
from .markdown import first_line
from .markdown import render as render_markdown
from .models import Note, Preferences, preferences_for
from .reasons import detail_for_people, reason_for_people
from .status import ProcessingStatus

S = ProcessingStatus

# Characters of content fetched for a list excerpt (one more, to know it was cut).
EXCERPT_LENGTH = 240
# Upper bound on the ids one list status request may ask about.
MAX_STATUS_IDS = 100
RUN_HISTORY_LENGTH = 10


def list_rows(queryset: QuerySet) -> QuerySet:
    """The columns a list row needs, and no more.

    Content is cut in the database (a large note is never loaded whole for its excerpt),
    and the suggested title and tags are read out of the enrichment JSON, so the page
    costs the same number of queries whatever its size.
    """
    return queryset.only(
        "id", "title", "tags", "processing_status", "status_detail", "created_at", "processed_at"
    ).annotate(
        excerpt=Substr("content", 1, EXCERPT_LENGTH + 1),
        suggested_title_text=KT("enrichment_data__title"),
        summary_text=KT("enrichment_data__summary"),
    )


def _row_context(note: Note) -> Note:
    # Template-friendly names computed from the annotations, without touching the
    # deferred enrichment_data (which would cost a query per row).
    note.list_title = (
        note.title or note.suggested_title_text or first_line(note.excerpt) or "Untitled note"
    )
    note.list_terminal = note.processing_status in S.terminal()
    return note


class OwnedNoteMixin(LoginRequiredMixin):
    """Loads ``self.note`` (the person's own, else 404) before the method is even looked at,
    so that a POST-only URL answers 404, not 405, for somebody else's note."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.note = get_object_or_404(Note.objects.filter(owner=request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)


@dataclass(frozen=True)
class PageWindow:
    """One page of a list that is never counted (see NoteListView.paginate_queryset)."""

    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


class NoteListView(LoginRequiredMixin, ListView):
    template_name = "notes/note_list.html"
    context_object_name = "notes"

    def get_paginate_by(self, queryset):
        return settings.NOTES_PER_PAGE

    def paginate_queryset(self, queryset, page_size):
        """Newer/older pages without COUNT(*): counting a person's 100,000 notes (or every
        match of a common word) costs more than the page itself, so one row more than
        the page is fetched to learn whether an older page exists."""
        number = params.page_number(self.request.GET.get("page"))
        offset = (number - 1) * page_size
        rows = list(queryset[offset : offset + page_size + 1])
        if number > 1 and not rows:
            raise Http404("No such page.")
        page = PageWindow(number=number, has_next=len(rows) > page_size)
        return None, page, rows[:page_size], page.has_other_pages

    def get_queryset(self):
        self.filters = NoteFilterForm(self.request.GET)
        queryset = Note.objects.filter(owner=self.request.user)
        if not self.filters.is_valid():
            # An unknown status or an over-long query (the form bounds both) is ignored.
            return list_rows(queryset)
        data = self.filters.cleaned_data
        if data["status"]:
            queryset = queryset.filter(processing_status=data["status"])
        if data["tag"]:
            queryset = tagging.with_tag(queryset, data["tag"])
        if data["q"]:
            queryset = search.search(queryset, data["q"])
        return list_rows(queryset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for note in context["notes"]:
            _row_context(note)
        params = self.request.GET.copy()
        params.pop("page", None)
        context.update(
            filters=self.filters,
            active_filters=self.filters.is_valid() and any(self.filters.cleaned_data.values()),
            filter_query=params.urlencode(),
            statuses=S.choices,
            search_words=search.highlight_words(self.filters.data.get("q", "")),
            my_tags=tagging.vocabulary(self.request.user.pk),
        )
        return context


class NoteCreateView(LoginRequiredMixin, CreateView):
    form_class = NoteForm
    template_name = "notes/note_form.html"

    def form_valid(self, form):
        note = services.create_note(
            owner=self.request.user,
            content=form.cleaned_data["content"],
            title=form.cleaned_data["title"],
        )
        save_person_fields(note, form)
        if note.skip_enrichment:
            messages.success(self.request, "Note saved. It is not sent to any model.")
        else:
            messages.success(
                self.request, "Note saved. It is queued for enrichment.", extra_tags="queued"
            )
        return redirect("notes:detail", note.pk)


def save_person_fields(note: Note, form) -> None:
    """The form's fields that only the person sets: their tags and "don't enrich"."""
    Note.objects.filter(pk=note.pk).update(skip_enrichment=form.cleaned_data["skip_enrichment"])
    note.skip_enrichment = form.cleaned_data["skip_enrichment"]
    if form.cleaned_data["tags"] != note.tags:
        tagging.set_tags(note, form.cleaned_data["tags"])


class NoteDetailView(OwnedNoteMixin, View):
    def get(self, request, pk):
        context = detail_context(request, self.note) | content_context(self.note)
        return render(request, "notes/note_detail.html", context)


def detail_context(request, note: Note) -> dict:
    """What the detail page and its live panel show."""
    runs = list(note.runs.all()[:RUN_HISTORY_LENGTH])
    data = note.enrichment_data or {}
    return {
        "note": note,
        "data": data,
        "action_items": checklists.done_items(note.content, data.get("action_items") or []),
        "runs": runs,
        "terminal": note.is_terminal,
        "can_reprocess": note.is_terminal,
        "needs_attention": note.processing_status in (S.FAILED, S.ERROR),
        "reason": reason_for_people(note),
        "detail": detail_for_people(note),
        "not_enriched": note.status_detail == tagging.NOT_ENRICHED_DETAIL,
    }


def content_context(note: Note) -> dict:
    return {"note": note, "content_html": render_markdown(note.content)}


class NoteEditView(OwnedNoteMixin, FormView):
    form_class = NoteForm
    template_name = "notes/note_form.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # A copy: validating the form writes the typed values onto its instance, and
        # update_note must compare them with what is stored.
        kwargs["instance"] = copy.copy(self.note)
        return kwargs

    def get_context_data(self, **kwargs):
        return super().get_context_data(note=self.note, **kwargs)

    def form_valid(self, form):
        content_changed = services.update_note(
            self.note, content=form.cleaned_data["content"], title=form.cleaned_data["title"]
        )
        save_person_fields(self.note, form)
        if content_changed:
            messages.success(
                self.request,
                "Note saved. The new content is queued for enrichment.",
                extra_tags="queued",
            )
        else:
            messages.success(self.request, "Note saved.")
        return redirect("notes:detail", self.note.pk)


class NoteDeleteView(OwnedNoteMixin, View):
    def get(self, request, pk):
        return render(request, "notes/note_confirm_delete.html", {"note": self.note})

    def post(self, request, pk):
        title = self.note.display_title
        # A job still on the queue for this note finds it gone and ends quietly.
        self.note.delete()
        messages.success(request, f"Deleted “{title}”.")
        return redirect("notes:list")


class NoteReprocessView(OwnedNoteMixin, View):
    def post(self, request, pk):
        # "Regenerate" asks the model again even when a stored result for the same
        # content exists; "Try again" (after a failure) may reuse nothing anyway.
        regenerate = request.POST.get("mode") == "regenerate"
        if services.reprocess_note(self.note.pk, ignore_cache=regenerate):
            if regenerate:
                messages.success(
                    request, "Regenerating: the model is asked again.", extra_tags="queued"
                )
            else:
                messages.success(request, "Queued for enrichment again.", extra_tags="queued")
        else:
            messages.warning(request, "This note is already queued or being processed.")
        return redirect("notes:detail", self.note.pk)


class NoteStatusView(OwnedNoteMixin, View):
    """JSON for the detail page's poller: the status and the re-rendered live panel."""

    def get(self, request, pk):
        note = self.note
        context = detail_context(request, note)
        return JsonResponse(
            {
                "id": note.pk,
                "status": note.processing_status,
                "label": note.get_processing_status_display(),
                "terminal": note.is_terminal,
                "title": note.display_title,
                "html": render_to_string("notes/_live_panel.html", context, request=request),
            }
        )


class NoteListStatusView(LoginRequiredMixin, View):
    """JSON for the list's poller: the re-rendered rows of the ids asked about.

    Ids of notes that are not the person's own are simply absent from the answer.
    """

    def get(self, request):
        ids = params.id_list(request.GET.get("ids", ""), MAX_STATUS_IDS)
        if ids is None:
            return JsonResponse({"error": "ids: note numbers, comma-separated"}, status=400)
        rows = list_rows(Note.objects.filter(owner=request.user, pk__in=ids)) if ids else []
        notes = []
        for note in rows:
            _row_context(note)
            notes.append(
                {
                    "id": note.pk,
                    "status": note.processing_status,
                    "terminal": note.list_terminal,
                    "html": render_to_string(
                        "notes/_note_row.html",
                        {
                            "note": note,
                            "search_words": search.highlight_words(request.GET.get("q", "")),
                        },
                        request=request,
                    ),
                }
            )
        return JsonResponse({"notes": notes})


class SignUpView(FormView):
    """Open sign-up, only when ALLOW_SIGNUP is set (otherwise the page does not exist).

    Limited per client address, and the answer to a valid form is the same whether the
    username was free (the account is created) or taken (nothing happens): a redirect
    to the login page with one message, after the same password-hashing work.
    """

    form_class = SignUpForm
    template_name = "registration/signup.html"

    def dispatch(self, request, *args, **kwargs):
        if not settings.ALLOW_SIGNUP:
            raise Http404("Sign-up is closed.")
        if request.user.is_authenticated:
            return redirect("notes:list")
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not security.signup_allowed(request):
            form = self.get_form()
            form.add_error(None, "Too many sign-ups from your network. Try again in an hour.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        User = get_user_model()
        username = form.cleaned_data["username"]
        try:
            with transaction.atomic():
                if User.objects.filter(username__iexact=username).exists():
                    raise IntegrityError
                form.save()
        except IntegrityError:
            make_password(form.cleaned_data["password1"])  # the work a new account costs
        messages.success(
            self.request, "If that username was free, your account is ready: log in below."
        )
        return redirect("login")


class NoteTasksView(OwnedNoteMixin, View):
    """Ticks the note's task list (htmx): the ticked boxes are the form's ``done`` values,
    ``seen`` is the content version the page showed. Never queues enrichment
    (notes.checklists)."""

    def post(self, request, pk):
        # Box numbers start at 0; short ASCII digits only, as int() refuses "²" and huge ones.
        boxes = request.POST.getlist("done")
        done = {int(v) for v in boxes if v.isascii() and v.isdigit() and len(v) < 7}
        ticked = checklists.tick(self.note, done, seen_hash=request.POST.get("seen", ""))
        if not request.htmx:
            if not ticked:
                messages.warning(request, "The note changed meanwhile; nothing was ticked.")
            return redirect("notes:detail", self.note.pk)
        context = content_context(self.note) | detail_context(request, self.note)
        context["stale"] = not ticked
        return render(request, "notes/_tasks_response.html", context)


class NoteTagsView(OwnedNoteMixin, View):
    """Adds or removes one of the person's tags, or reviews a suggestion. With htmx the
    answer is the re-rendered tag block; without, a redirect to the note."""

    def post(self, request, pk):
        note = self.note
        post = request.POST
        if post.get("add"):
            tagging.add_tag(note, post["add"][:200])
        elif post.get("remove"):
            tagging.remove_tag(note, post["remove"][:200])
        elif post.get("accept"):
            tagging.review_suggestion(note, post["accept"][:200], accept=True)
        elif post.get("reject"):
            tagging.review_suggestion(note, post["reject"][:200], accept=False)
        if request.htmx:
            return render(request, "notes/_tags.html", {"note": note})
        return redirect("notes:detail", note.pk)


class TagListView(LoginRequiredMixin, View):
    """The person's tags with counts: rename, merge (rename onto an existing tag), delete."""

    template_name = "notes/tag_list.html"

    def get(self, request):
        return self.page(request, TagRenameForm())

    def page(self, request, form, status=200):
        counts = tagging.tag_counts(request.user)
        return render(request, self.template_name, {"tags": counts, "form": form}, status=status)

    def post(self, request):
        if request.POST.get("delete"):
            changed = tagging.delete_tag(request.user, request.POST["delete"][:200])
            messages.success(request, f"Tag removed from {changed} note(s).")
            return redirect("notes:tags")
        form = TagRenameForm(request.POST)
        if not form.is_valid():
            return self.page(request, form, status=400)
        old, new = form.cleaned_data["old"], form.cleaned_data["new"]
        merging = new in dict(tagging.tag_counts(request.user))
        changed = tagging.rename_tag(request.user, old, new)
        verb = "Merged" if merging else "Renamed"
        messages.success(request, f"{verb} “{old}” into “{new}” on {changed} note(s).")
        return redirect("notes:tags")


class PreferencesView(LoginRequiredMixin, FormView):
    """The person's say over enrichment: language, external models, suggested tags."""

    form_class = PreferencesForm
    template_name = "notes/preferences.html"
    success_url = reverse_lazy("notes:preferences")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = preferences_for(self.request.user.pk)
        return kwargs

    def get_context_data(self, **kwargs):
        prefs = Preferences.objects.filter(user=self.request.user).first()
        return super().get_context_data(
            staff_disabled=bool(prefs and prefs.model_enrichment_disabled), **kwargs
        )

    def form_valid(self, form):
        form.save()
        messages.success(self.request, "Settings saved. They apply to the next enrichment.")
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    """Logs out and says so on the next page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out.")
        return response
