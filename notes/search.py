"""Finding a person's notes by words and by tag.

Search uses the ``search_vector`` column that a trigger keeps current (migration 0003)
with a GIN index, and ranks matches (title words weigh most, then tags and summary, then
content).
"""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, QuerySet

# Must match the configuration the trigger in migration 0003 uses to build the vector.
SEARCH_CONFIG = "english"
# Longer queries are cut: nobody types more, and websearch parsing stays cheap.
MAX_QUERY_LENGTH = 200
# Ranking reads the search document of every note it ranks, so a word in a tenth of a
# person's notes would cost more with every note they write. Only the newest matches
# are ranked: the search costs the same at a thousand notes and at a million, and the
# best of the recent matches come first.
MAX_RANKED = 200


def search(queryset: QuerySet, text: str) -> QuerySet:
    """Notes of ``queryset`` that match ``text``, best matches first (newest on ties),
    among the newest ``MAX_RANKED`` matches."""
    text = " ".join(text.split())[:MAX_QUERY_LENGTH]
    if not text:
        return queryset
    # websearch syntax: "quoted phrases", -excluded words, OR; never a syntax error.
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    newest = queryset.filter(search_vector=query).order_by("-created_at", "-id").values("pk")
    return (
        queryset.filter(pk__in=newest[:MAX_RANKED])
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "-created_at", "-id")
    )


def highlight_words(text: str) -> list[str]:
    """The words of a search to mark in results (quotes and "-excluded" words dropped)."""
    words = []
    for word in (text or "").split()[:20]:
        word = word.strip("\"'()")
        if len(word) >= 2 and not word.startswith("-") and word.lower() != "or":
            words.append(word)
    return words
