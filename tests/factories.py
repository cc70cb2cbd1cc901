"""Test data builders."""

import itertools

from django.contrib.auth import get_user_model

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
