"""Test data builders."""

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from enrichment.models import EnrichmentRun
from notes import services
from notes.models import Note, content_hash
from notes.status import ProcessingStatus

_seq = itertools.count(1)


def make_user(username=None, *, staff=False, password="a-long-test-password-123"):
    username = username or f"user{next(_seq)}"
    User = get_user_model()
    if staff:
        return User.objects.create_superuser(username, f"{username}@example.com", password)
    return User.objects.create_user(username, f"{username}@example.com", password)


def make_note(
    owner=None,
    content="Plan the launch. Write the announcement.",
    *,
    status=None,
    title="",
    enqueue=False,
    **fields,
) -> Note:
    """A note row. With enqueue=True it goes through the service (and the queue)."""
    owner = owner or make_user()
    if enqueue:
        return services.create_note(owner=owner, content=content, title=title)
    note = Note.objects.create(
        owner=owner,
        content=content,
        title=title,
        content_hash=content_hash(content),
        **({"processing_status": status} if status else {}),
        **fields,
    )
    return note


def make_enriched_note(owner, content, enrichment, **fields) -> Note:
    """A note as the pipeline leaves it: completed, its enrichment current for its content."""
    return make_note(
        owner,
        content,
        status=ProcessingStatus.COMPLETED,
        enrichment_data=enrichment,
        enriched_hash=content_hash(content),
        **fields,
    )


def make_run(
    note, outcome, *, ago=0.0, duration_ms=None, error_kind="", tokens=(0, 0), calls=0
) -> EnrichmentRun:
    """A finished attempt in the run history, started ``ago`` seconds ago."""
    started = timezone.now() - timedelta(seconds=ago)
    return EnrichmentRun.objects.create(
        note=note,
        attempt=1,
        backend="local",
        started_at=started,
        finished_at=started + timedelta(milliseconds=duration_ms or 0),
        duration_ms=duration_ms,
        outcome=outcome,
        error_kind=error_kind,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        provider_calls=calls,
    )
