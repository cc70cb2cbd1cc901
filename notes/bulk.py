"""Selecting many notes without holding them in memory."""

from collections.abc import Iterator

from django.db.models import QuerySet


def iter_ids(queryset: QuerySet, chunk_size: int = 2000) -> Iterator[int]:
    """Yield the primary keys of ``queryset`` in ascending order, ``chunk_size`` at a time.

    Keyset pagination (``pk > last``) instead of a single long cursor: each chunk is a
    short indexed query, memory stays at one chunk, and the caller may change the rows it
    has been given (e.g. reprocess them) without disturbing the iteration, which a
    streaming cursor over the same table does not guarantee on every database.
    """
    last = None
    base = queryset.order_by("pk").values_list("pk", flat=True)
    while True:
        page = base.filter(pk__gt=last) if last is not None else base
        ids = list(page[:chunk_size])
        yield from ids
        if len(ids) < chunk_size:
            return
        last = ids[-1]
