import hashlib

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .status import ProcessingStatus
from .validators import validate_characters, validate_not_blank, validate_note_size


def content_hash(content: str) -> str:
    """The fingerprint of a content version: what was enriched is compared by it."""
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


class NoteManager(models.Manager):
    def get_queryset(self):
        # The search document can weigh hundreds of KB for a long note and is only ever
        # used inside SQL (matching, ranking): never load it into Python by default.
        return super().get_queryset().defer("search_vector")


class Note(models.Model):
    # No index of its own: note_owner_created_idx (owner, created_at) starts with it, and
    # every index is one more write for each status change.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    title = models.CharField(
        max_length=200,
        blank=True,
        help_text="Optional; a title is suggested when blank.",
        validators=[validate_characters],
    )
    content = models.TextField(
        validators=[validate_not_blank, validate_note_size, validate_characters]
    )
    content_hash = models.CharField(max_length=64, editable=False)

    processing_status = models.CharField(
        max_length=16,
        choices=ProcessingStatus.choices,
        default=ProcessingStatus.QUEUED,
        editable=False,
    )
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    # What is happening now, in words: "retry 2 of 4 at 14:05", "waiting for budget".
    status_detail = models.CharField(max_length=255, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    enrichment_data = models.JSONField(null=True, blank=True, editable=False)
    # Hash of the content the stored enrichment was made from.
    enriched_hash = models.CharField(max_length=64, blank=True, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Pipeline bookkeeping.
    attempts = models.PositiveIntegerField(
        default=0, editable=False, help_text="Processing attempts for the current request."
    )
    job_id = models.CharField(max_length=64, blank=True, editable=False)
    # Fence token of the attempt in progress; final writes must present it.
    processing_token = models.UUIDField(null=True, blank=True, editable=False)
    retry_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Attempts of the current request that the reaper found lost (worker killed, job gone)
    # and queued again; past ENRICHMENT_MAX_REAPS the note is ERROR instead.
    reap_count = models.PositiveIntegerField(default=0, editable=False)
    # Set by "Reprocess, ignoring cache": the next run calls the provider even if a stored
    # result for the same content, model and prompt version exists. Cleared on success.
    ignore_cache = models.BooleanField(default=False, editable=False)

    # The person's own tags (normal forms, notes.tags.normalise_tag). Enrichment adds
    # to them (or to suggested_tags, for review) but never removes one.
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    # The model's suggestions waiting for the person's review.
    suggested_tags = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, editable=False
    )
    # Suggestions the person turned down for this note: never suggested again.
    rejected_tags = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, editable=False
    )
    skip_enrichment = models.BooleanField(
        "don't enrich",
        default=False,
        help_text="Keep this note away from every model: no title, summary or tags are made.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Full-text search document (PostgreSQL only; NULL elsewhere). Written by a database
    # trigger from title, content, suggested title, summary and tags (see migration
    # 0003), so that every write path keeps it current: services, pipeline, admin, SQL.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = NoteManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # People's note list: their own notes, newest first.
            models.Index(fields=["owner", "-created_at"], name="note_owner_created_idx"),
            # Worker, reaper, health and admin filter: notes in a status, by age.
            models.Index(
                fields=["processing_status", "status_changed_at"], name="note_status_age_idx"
            ),
            # The feeder's backlog: each owner's notes waiting for delivery, oldest first.
            # Partial, so that it holds only those notes and costs nothing otherwise.
            models.Index(
                fields=["owner", "id"],
                name="note_waiting_idx",
                condition=Q(processing_status=ProcessingStatus.QUEUED, job_id=""),
            ),
            # Admin changelist default ordering.
            models.Index(fields=["-created_at"], name="note_created_idx"),
            # Filtering by a person's tag (array containment).
            GinIndex(fields=["tags"], name="note_person_tags_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(content=""), name="note_content_not_blank"),
            models.CheckConstraint(
                condition=Q(processing_status__in=ProcessingStatus.values),
                name="note_status_valid",
            ),
        ]

    def __str__(self):
        return self.display_title

    @property
    def suggested_title(self) -> str:
        return (self.enrichment_data or {}).get("title", "") if self.enrichment_data else ""

    @property
    def display_title(self) -> str:
        if self.title or self.suggested_title:
            return self.title or self.suggested_title
        from .markdown import first_line

        # Lists annotate a cut ``excerpt`` so that a long content is never loaded whole.
        source = getattr(self, "excerpt", None)
        if source is None and "content" not in self.get_deferred_fields():
            source = self.content
        return first_line(source or "") or "Untitled note"

    @property
    def is_terminal(self) -> bool:
        return self.processing_status in ProcessingStatus.terminal()

    @property
    def enrichment_is_current(self) -> bool:
        return bool(self.enrichment_data) and self.enriched_hash == self.content_hash


class Preferences(models.Model):
    """A person's choices about the enrichment of their notes. A person without a row has
    the defaults (see :func:`preferences_for`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="note_preferences",
    )
    auto_apply_suggestions = models.BooleanField(
        "apply suggested tags automatically",
        default=True,
        help_text="Off: suggested tags wait for you to accept or reject them.",
    )
    enrichment_language = models.CharField(
        "language of titles, summaries and tags",
        max_length=12,
        blank=True,
        help_text="An ISO 639-1 code; blank: each note's own language.",
    )
    never_send_external = models.BooleanField(
        "never send my notes to an external model",
        default=False,
        help_text="Your notes are enriched on this server only, by the built-in enricher.",
    )
    # Set by staff: the person's notes are enriched by the built-in enricher only.
    model_enrichment_disabled = models.BooleanField(
        "model enrichment turned off",
        default=False,
        help_text="Staff only: this person's notes never go to an external model.",
    )

    class Meta:
        verbose_name = "enrichment preferences"
        verbose_name_plural = "enrichment preferences"

    def __str__(self):
        return f"Preferences of {self.user}"

    @property
    def local_only(self) -> bool:
        return self.never_send_external or self.model_enrichment_disabled


def preferences_for(user_id: int) -> Preferences:
    """The person's preferences, or the defaults (unsaved) if they never chose."""
    return Preferences.objects.filter(user_id=user_id).first() or Preferences(user_id=user_id)
