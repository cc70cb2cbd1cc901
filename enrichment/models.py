from django.db import models


class RunOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    # The stored result was reused: same content, backend, model and prompt version.
    CACHED = "cached", "Completed from stored result"
    FAILED = "failed", "Failed"
    RETRY = "retry", "Will retry"
    WAITING = "waiting", "Waiting (budget)"
    ERROR = "error", "Error"
    SUPERSEDED = "superseded", "Superseded (content changed)"
    ABANDONED = "abandoned", "Abandoned (worker lost)"


class EnrichmentRun(models.Model):
    """One processing attempt of one note: the run history shown in the admin, and the
    source of duration, token and failure figures for monitoring."""

    # Indexed by run_note_started_idx (note, started_at), which serves lookups by note.
    note = models.ForeignKey(
        "notes.Note", on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    attempt = models.PositiveIntegerField()
    job_id = models.CharField(max_length=64, blank=True)
    backend = models.CharField(max_length=100)
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    provider_calls = models.PositiveIntegerField(default=0)
    outcome = models.CharField(
        max_length=16, choices=RunOutcome.choices, default=RunOutcome.RUNNING
    )
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["note", "-started_at"], name="run_note_started_idx"),
            models.Index(fields=["started_at"], name="run_started_idx"),
            models.Index(fields=["outcome", "started_at"], name="run_outcome_started_idx"),
        ]
        # Operating the pipeline (overview page, reprocess actions, RQ dashboard) reaches
        # every person's notes and spends provider money: staff need this on top of
        # is_staff (enrichment.permissions).
        permissions = [("operate", "Can operate the enrichment pipeline")]

    def __str__(self):
        return f"note {self.note_id} attempt {self.attempt}: {self.outcome}"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
