"""Request parameters read strictly: a malformed or out-of-range value is the client's
mistake and answers 400 or 404, never a 500 with a traceback in the log."""

from django.http import Http404

# Primary keys are PostgreSQL bigints.
MAX_ID = 2**63 - 1
# Deeper than anyone pages by hand, and an OFFSET PostgreSQL accepts.
MAX_PAGE = 100_000


def positive_int(raw: str, maximum: int) -> int | None:
    """``raw`` as a whole number in 1..maximum, else None.

    ASCII digits only: ``str.isdigit()`` accepts "²" and other digits ``int()`` refuses,
    and a long run of digits is refused before it is converted.
    """
    raw = raw.strip()
    if not raw or len(raw) > len(str(maximum)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 1 <= value <= maximum else None


def page_number(raw: str | None) -> int:
    """The page asked for (1 when absent); 404 for anything that cannot be a page."""
    if not raw:
        return 1
    number = positive_int(raw, MAX_PAGE)
    if number is None:
        raise Http404("No such page.")
    return number


def id_list(raw: str, limit: int) -> list[int] | None:
    """The first ``limit`` of comma-separated note ids; None when one is malformed
    (the view answers 400: a response, not an exception, so no traceback is logged)."""
    parts = [part for part in raw.split(",", limit)[:limit] if part.strip()]
    ids = [positive_int(part, MAX_ID) for part in parts]
    return None if None in ids else ids
