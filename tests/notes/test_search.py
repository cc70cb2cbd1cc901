"""Search: PostgreSQL full-text with ranking, kept current by a trigger."""

import pytest

from notes import search, tagging
from notes.models import Note
from notes.services import transition
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db


def found(user, text):
    return list(search.search(Note.objects.filter(owner=user), text).values_list("pk", flat=True))


def enrich(note, **data):
    """Store an enrichment the way the pipeline does: a status transition UPDATE."""
    Note.objects.filter(pk=note.pk).update(processing_status=S.PROCESSING)
    assert transition(note.pk, S.COMPLETED, source=S.PROCESSING, enrichment_data=data)


def test_words_in_the_content_are_found_with_stemming(user):
    note = make_note(user, "We are planning the harvest festival.")
    make_note(user, "Nothing relevant here.")
    assert found(user, "plans harvests") == [note.pk]


def test_summary_tags_and_suggested_title_become_searchable_when_enrichment_is_stored(user):
    note = make_note(user, "Short words only.")
    assert found(user, "kubernetes") == []
    enrich(note, title="Cluster notes", summary="About upgrading clusters.", tags=["kubernetes"])
    assert found(user, "kubernetes") == []  # a suggestion, not yet the person's tag
    Note.objects.filter(pk=note.pk).update(tags=["kubernetes"])  # as merge_suggestions does
    assert found(user, "kubernetes") == [note.pk]
    assert found(user, "upgrading") == [note.pk]
    assert found(user, "cluster") == [note.pk]


def test_editing_the_content_updates_what_is_found(user):
    note = make_note(user, "Old topic: gardening.")
    Note.objects.filter(pk=note.pk).update(content="New topic: astronomy.")
    assert found(user, "gardening") == []
    assert found(user, "astronomy") == [note.pk]


def test_a_title_match_ranks_above_a_content_match(user):
    in_content = make_note(user, "Some words, then budget mentioned once.", title="Misc")
    in_title = make_note(user, "Numbers for next year.", title="Budget")
    assert found(user, "budget") == [in_title.pk, in_content.pk]


def test_only_the_newest_matches_are_ranked(user, monkeypatch):
    monkeypatch.setattr(search, "MAX_RANKED", 2)
    oldest = make_note(user, "Budget.", title="Budget")  # the best match, but too old
    middle = make_note(user, "Budget mentioned once, in passing, among other words.")
    newest = make_note(user, "The budget, then more words, and the budget again.")
    assert set(found(user, "budget")) == {middle.pk, newest.pk}
    assert oldest.pk not in found(user, "budget")


def test_websearch_syntax_never_errors(user):
    note = make_note(user, "Alpha beta gamma.")
    assert found(user, '"alpha beta" -delta') == [note.pk]
    assert found(user, "&&& ((( :*") == []


def test_a_very_large_note_can_still_be_saved_and_found_by_its_beginning(user):
    # Distinct words would overflow tsvector's 1 MB limit if the whole note were indexed.
    content = "zebra " + " ".join(f"w{i:07d}x" for i in range(100_000))
    note = make_note(user, content)
    assert found(user, "zebra") == [note.pk]


def test_only_the_persons_own_notes_are_searched(user):
    make_note(make_user("mallory"), "Secret launch codes.")
    mine = make_note(user, "My launch checklist.")
    assert found(user, "launch") == [mine.pk]


def test_the_tag_filter_matches_the_persons_whole_tags(user):
    go = make_note(user, "a", tags=["go"])
    make_note(user, "b", tags=["golang"])
    make_note(user, "c", enrichment_data={"tags": ["go"]})  # only suggested by the model
    tagged = tagging.with_tag(Note.objects.all(), "Go")
    assert list(tagged.values_list("pk", flat=True)) == [go.pk]
