"""What went wrong, in a sentence a person can act on.

The stored reason (``Note.last_error``) and the run history keep the technical detail for
staff; people's pages show one of these sentences instead.
"""

from .models import Note
from .status import ProcessingStatus

S = ProcessingStatus

RETRY_LATER = "The model could not be reached; it is tried again automatically."
UNUSABLE = "The model's answer could not be used; try again, or shorten the note."
TOO_LONG = "The note is too long for the model; shorten it and save it again."
REFUSED = "The model declined this note; try again, or change its wording."
INTERNAL = "Something went wrong on our side; try again in a moment."
BUDGET = "Today's enrichment budget is used up; the note waits and continues later."

# Words of the technical reason -> the sentence shown, first match wins.
_RULES = [
    (("too long", "context length", "too many tokens", "maximum context"), TOO_LONG),
    (("refus", "content filter", "safety", "policy"), REFUSED),
    (("budget", "quota"), BUDGET),
    (("schema", "json", "invalid", "validation", "parse"), UNUSABLE),
    (
        ("timeout", "timed out", "connect", "unavailable", "gave up", "rate limit", "429"),
        RETRY_LATER,
    ),
]


def reason_for_people(note: Note) -> str:
    """The plain sentence for the note's failure, or "" when nothing failed."""
    if note.processing_status not in (S.FAILED, S.ERROR):
        return ""
    text = (note.last_error or "").lower()
    for words, sentence in _RULES:
        if any(word in text for word in words):
            if sentence == RETRY_LATER:
                # A final status means the retries are over.
                return "The model could not be reached after several tries; try again later."
            return sentence
    return UNUSABLE if note.processing_status == S.FAILED else INTERNAL


def detail_for_people(note: Note) -> str:
    """What is happening now, without the technical tail: "retry 2 of 4 at 14:05"
    rather than the provider's error that caused the retry."""
    return (note.status_detail or "").split(": ", 1)[0]
