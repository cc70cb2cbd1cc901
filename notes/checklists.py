"""Ticking a note's task list: a content change that never costs a model call.

A tick changes only "[ ]" into "[x]" (or back). Such a change keeps the note's status and
its enrichment: if the enrichment was made from the content before the tick, it is marked
as made from the content after it, so nothing is queued and no provider is asked. The
action items' done state is read from the ticked tasks when the page is drawn
(:func:`done_items`), so it follows every tick without the model.
"""

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from .markdown import TASK_MARKER, _lines, plain_text, set_tasks, tasks
from .models import Note, content_hash


def tick(note: Note, done: set[int], *, seen_hash: str) -> bool:
    """Tick exactly the tasks numbered in ``done`` (the others are unticked). Refuses, and
    returns False, when the content is no longer the version the person saw."""
    if note.content_hash != seen_hash:
        return False
    content = set_tasks(note.content, done)
    if content == note.content:
        return True
    new_hash = content_hash(content)
    with transaction.atomic():
        updated = Note.objects.filter(pk=note.pk, content_hash=seen_hash).update(
            content=content,
            content_hash=new_hash,
            enriched_hash=Case(
                When(enriched_hash=seen_hash, then=Value(new_hash)), default=F("enriched_hash")
            ),
            updated_at=timezone.now(),
        )
    if updated:
        note.refresh_from_db(fields=["content", "content_hash", "enriched_hash", "updated_at"])
    return bool(updated)


def _key(text: str) -> str:
    return " ".join(plain_text(text).casefold().split()).rstrip(".")


def done_items(content: str, action_items: list[str]) -> list[tuple[str, bool]]:
    """Each action item with whether the note's task of the same words is ticked."""
    lines = _lines(content or "")
    ticked = {}
    for task in tasks(content or ""):
        words = TASK_MARKER.sub("", lines[task.line], count=1)
        ticked[_key(words)] = task.done
    return [(item, ticked.get(_key(item), False)) for item in action_items or []]
