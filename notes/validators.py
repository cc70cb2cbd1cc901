"""Checks on what people type, shared by the note forms and the model (and so the admin).

PostgreSQL cannot store NUL characters in text, and other control characters are almost
always pasted by accident; catching them here turns a would-be 500 into a form error that
says where the offending character is.
"""

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

# Tab, line feed and carriage return are ordinary text; every other C0/C1 control
# character and every lone surrogate is refused. A regex keeps a 1 MB note fast to check.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _describe(char: str) -> str:
    if char == "\x00":
        name = "NUL"
    elif unicodedata.category(char) == "Cs":
        name = "lone surrogate"
    else:
        name = unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} {name}"


def find_invalid_character(text: str) -> tuple[int, int, str] | None:
    """The first character we refuse as (line, column, description), or None."""
    match = _INVALID.search(text)
    if match is None:
        return None
    index = match.start()
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column, _describe(match.group())


def validate_characters(value: str) -> None:
    """Refuse NUL bytes, other control characters and lone surrogates, saying where."""
    found = find_invalid_character(value)
    if found:
        line, column, description = found
        raise ValidationError(
            "Line %(line)s, column %(column)s contains a character that cannot be saved "
            "(%(character)s). Remove it and save again.",
            code="invalid_character",
            params={"line": line, "column": column, "character": description},
        )


def validate_note_size(value: str) -> None:
    """Refuse content larger than NOTE_MAX_LENGTH bytes of UTF-8, naming the limit."""
    limit = settings.NOTE_MAX_LENGTH
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ValidationError(
            "This note is %(size)s; the limit is %(limit)s (%(limit_bytes)s bytes). "
            "Shorten it or split it into several notes.",
            code="too_long",
            params={
                "size": filesizeformat(size),
                "limit": filesizeformat(limit),
                "limit_bytes": f"{limit:,}",
            },
        )


def validate_not_blank(value: str) -> None:
    """Content made only of spaces and line breaks is as empty as no content."""
    if not value.strip():
        raise ValidationError("Write something: a note cannot be empty.", code="blank")
