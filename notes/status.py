"""The life of a note's enrichment, as a state machine.

    QUEUED ──claim──▶ PROCESSING ──▶ COMPLETED | FAILED | ERROR
      ▲                   │                     │
      └──── retry / content changed ◀───────────┘ reprocess

The design document's transitions (QUEUED -> PROCESSING -> a terminal state) plus exactly
two deliberate additions:

* PROCESSING -> QUEUED: a transient fault is retried later, or the content changed while
  the enrichment was running (the stale result must not be stored).
* COMPLETED/FAILED/ERROR -> QUEUED: somebody asked for the note to be processed again.

Every status change (claim, store, retry, requeue, fail, bulk requeue) goes through
:func:`notes.services.transition`, which applies this table with a conditional UPDATE so
that two actors can never both win a race.
"""

from django.db import models


class ProcessingStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"

    @classmethod
    def terminal(cls):
        return frozenset({cls.COMPLETED, cls.FAILED, cls.ERROR})

    @classmethod
    def active(cls):
        return frozenset({cls.QUEUED, cls.PROCESSING})


S = ProcessingStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.PROCESSING}),
    S.PROCESSING: frozenset({S.COMPLETED, S.FAILED, S.ERROR, S.QUEUED}),
    S.COMPLETED: frozenset({S.QUEUED}),
    S.FAILED: frozenset({S.QUEUED}),
    S.ERROR: frozenset({S.QUEUED}),
}


class InvalidTransition(ValueError):
    """A status change that the table forbids; nothing was changed."""

    def __init__(self, source, target):
        super().__init__(f"Forbidden status change: {source} -> {target}.")
        self.source = source
        self.target = target


def is_allowed(source, target) -> bool:
    return target in TRANSITIONS.get(source, frozenset())


def sources_for(target) -> frozenset[str]:
    """Every status from which ``target`` may be reached."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)
