"""A person's tags and their say over enrichment, as the pipeline and the pages see them.

The pipeline asks :func:`enrichment_context` what to do for a note (skip it, which backend,
which vocabulary and language) and hands the stored result to :func:`merge_suggestions`.
The rules kept here:

* enrichment adds tags, it never removes one the person has;
* a tag the person rejected for a note is never suggested for that note again;
* suggested tags are normalised and, when one means a tag the person already uses,
  spelled as theirs.

Every operation on tags is scoped to one owner.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.postgres.fields import ArrayField
from django.db import transaction
from django.db.models import CharField, Count, F, Func, Value

from notes.tags import normalise_tag, normalise_tags, vocabulary

from .models import Note, Preferences

LOCAL_BACKEND = "local"
NOT_ENRICHED_DETAIL = "Not enriched: this note is marked “don't enrich”."


@dataclass(frozen=True)
class EnrichmentContext:
    """What the pipeline needs to know about the person before enriching their note."""

    skip: bool = False
    # A backend forced by the person's choices (None: the configured one).
    backend: str | None = None
    vocabulary: list[str] = field(default_factory=list)
    language: str = ""


_PREFS = "owner__note_preferences__"
_PREF_FIELDS = (
    "auto_apply_suggestions",
    "enrichment_language",
    "never_send_external",
    "model_enrichment_disabled",
)


def _choices(row: dict) -> Preferences:
    """The owner's preferences read through the note's join (defaults when none saved)."""
    if row[_PREFS + "user"] is None:  # never chose: the model's defaults
        return Preferences()
    return Preferences(**{name: row[_PREFS + name] for name in _PREF_FIELDS})


def _with_choices(queryset, *fields):
    return queryset.values(*fields, *(_PREFS + name for name in ("user", *_PREF_FIELDS)))


def enrichment_context(note_id: int) -> EnrichmentContext:
    """The person's choices for this note: "don't enrich", never-send-external or
    switched off by staff (local backend only), language, and their vocabulary."""
    row = _with_choices(Note.objects.filter(pk=note_id), "owner_id", "skip_enrichment").first()
    if row is None or row["skip_enrichment"]:
        return EnrichmentContext(skip=True)
    prefs = _choices(row)
    return EnrichmentContext(
        backend=LOCAL_BACKEND if prefs.local_only else None,
        vocabulary=vocabulary(row["owner_id"]),
        language=prefs.enrichment_language,
    )


def merge_suggestions(note_id: int) -> None:
    """Fold the stored enrichment's tags into the note: new ones are applied or wait for
    review (the person's setting); the person's tags and rejections stay as they are."""
    with transaction.atomic():
        row = _with_choices(
            Note.objects.select_for_update(of=("self",)).filter(pk=note_id),
            "tags",
            "rejected_tags",
            "enrichment_data",
        ).first()
        if row is None or not isinstance(row["enrichment_data"], dict):
            return
        # Every stored tag is in normal form, so a suggestion that means one of the
        # person's tags is spelled as theirs once normalised.
        suggested = normalise_tags(row["enrichment_data"].get("tags") or [])
        fresh = [t for t in suggested if t not in row["tags"] and t not in row["rejected_tags"]]
        if _choices(row).auto_apply_suggestions:
            update = {"tags": row["tags"] + fresh, "suggested_tags": []}
        else:
            update = {"suggested_tags": fresh}
        Note.objects.filter(pk=note_id).update(**update)


TAG_FIELDS = ("tags", "rejected_tags", "suggested_tags")


@contextmanager
def _editing(note: Note):
    """The note's tag fields as stored, locked for the block, saved after it and copied
    onto ``note``."""
    with transaction.atomic():
        current = (
            Note.objects.select_for_update()
            .only(*TAG_FIELDS)
            .get(owner_id=note.owner_id, pk=note.pk)
        )
        yield current
        current.save(update_fields=TAG_FIELDS)
    for name in TAG_FIELDS:
        setattr(note, name, getattr(current, name))


def set_tags(note: Note, tags: list[str]) -> None:
    """The person's tags of ``note`` become ``tags`` (normalised). A suggestion the person
    removes counts as rejected, so enrichment does not bring it back."""
    tags = normalise_tags(tags)
    with _editing(note) as current:
        removed = [t for t in current.tags if t not in tags]
        current.tags = tags
        current.rejected_tags = [t for t in current.rejected_tags if t not in tags] + removed
        current.suggested_tags = [t for t in current.suggested_tags if t not in tags]


def add_tag(note: Note, tag: str) -> None:
    set_tags(note, [*note.tags, tag])


def remove_tag(note: Note, tag: str) -> None:
    set_tags(note, [t for t in note.tags if t != normalise_tag(tag)])


def review_suggestion(note: Note, tag: str, *, accept: bool) -> None:
    """Accept (the tag becomes the person's) or reject (never suggested again) a suggestion."""
    tag = normalise_tag(tag)
    with _editing(note) as current:
        current.suggested_tags = [t for t in current.suggested_tags if t != tag]
        if accept and tag not in current.tags:
            current.tags = [*current.tags, tag]
        if not accept and tag not in current.rejected_tags:
            current.rejected_tags = [*current.rejected_tags, tag]


class ArrayRemove(Func):
    function = "array_remove"
    output_field = ArrayField(CharField(max_length=40))


def tag_counts(owner) -> list[tuple[str, int]]:
    """The owner's tags with the number of their notes carrying each, most used first."""
    rows = (
        Note.objects.filter(owner=owner)
        .annotate(tag=Func("tags", function="unnest"))
        .values("tag")
        .annotate(count=Count("id"))
        .order_by("-count", "tag")
    )
    return [(row["tag"], row["count"]) for row in rows]


def rename_tag(owner, old: str, new: str) -> int:
    """Rename (or, when ``new`` already exists, merge) tag ``old`` into ``new`` on every
    note of the owner. Returns how many notes changed."""
    old, new = normalise_tag(old), normalise_tag(new)
    if not old or not new or old == new:
        return 0
    changed = 0
    with transaction.atomic():
        notes = Note.objects.select_for_update().filter(owner=owner, tags__contains=[old])
        for note in notes.only("tags", "rejected_tags").order_by("pk"):
            note.tags = normalise_tags(new if t == old else t for t in note.tags)
            note.rejected_tags = [t for t in note.rejected_tags if t != new]
            note.save(update_fields=["tags", "rejected_tags"])
            changed += 1
    return changed


def delete_tag(owner, tag: str) -> int:
    """Remove ``tag`` from every note of the owner (it is not suggested again for them)."""
    tag = normalise_tag(tag)
    if not tag:
        return 0
    value = Value(tag, output_field=CharField())
    return Note.objects.filter(owner=owner, tags__contains=[tag]).update(
        tags=ArrayRemove(F("tags"), value),
        rejected_tags=Func(ArrayRemove(F("rejected_tags"), value), value, function="array_append"),
    )


def with_tag(queryset, tag: str):
    """Notes of ``queryset`` that carry the person's tag ``tag``."""
    tag = normalise_tag(tag)
    return queryset.filter(tags__contains=[tag]) if tag else queryset
