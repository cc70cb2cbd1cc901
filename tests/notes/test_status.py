"""The state machine: every allowed and every forbidden pair, applied in the database."""

import itertools

import pytest

from notes.models import Note
from notes.services import transition
from notes.status import TRANSITIONS, InvalidTransition, ProcessingStatus
from tests.factories import make_note

S = ProcessingStatus
ALL_PAIRS = list(itertools.product(S.values, S.values))
ALLOWED = {
    ("queued", "processing"),
    ("processing", "completed"),
    ("processing", "failed"),
    ("processing", "error"),
    ("processing", "queued"),
    ("completed", "queued"),
    ("failed", "queued"),
    ("error", "queued"),
}


def test_the_table_is_the_design_plus_exactly_two_additions():
    table = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED


@pytest.mark.django_db
@pytest.mark.parametrize("source,target", sorted(ALLOWED))
def test_an_allowed_transition_changes_the_status(source, target):
    note = make_note(status=source)
    assert transition(note.pk, target, source=source) is True
    note.refresh_from_db()
    assert note.processing_status == target


@pytest.mark.django_db
@pytest.mark.parametrize("source,target", sorted(set(ALL_PAIRS) - ALLOWED))
def test_a_forbidden_transition_raises_and_changes_nothing(source, target):
    note = make_note(status=source)
    before = Note.objects.values().get(pk=note.pk)
    with pytest.raises(InvalidTransition, match=f"{source} -> {target}"):
        transition(note.pk, target, source=source)
    assert Note.objects.values().get(pk=note.pk) == before


@pytest.mark.django_db
def test_only_one_of_two_racing_claims_wins():
    note = make_note(status=S.QUEUED)
    first = transition(note.pk, S.PROCESSING, source=S.QUEUED)
    second = transition(note.pk, S.PROCESSING, source=S.QUEUED)
    assert (first, second) == (True, False)


@pytest.mark.django_db
def test_a_transition_from_a_status_the_note_is_not_in_does_nothing():
    note = make_note(status=S.COMPLETED)
    assert transition(note.pk, S.PROCESSING, source=S.QUEUED) is False
    note.refresh_from_db()
    assert note.processing_status == S.COMPLETED


@pytest.mark.django_db
def test_a_wrong_token_cannot_finish_an_attempt():
    import uuid

    token = uuid.uuid4()
    note = make_note(status=S.PROCESSING, processing_token=token)
    assert transition(note.pk, S.COMPLETED, source=S.PROCESSING, token=uuid.uuid4()) is False
    assert transition(note.pk, S.COMPLETED, source=S.PROCESSING, token=token) is True


@pytest.mark.django_db
def test_without_a_source_any_status_allowed_to_reach_the_target_qualifies():
    note = make_note(status=S.FAILED)
    assert transition(note.pk, S.QUEUED) is True
    note.refresh_from_db()
    assert note.processing_status == S.QUEUED
    assert note.status_changed_at is not None
