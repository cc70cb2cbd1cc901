"""The person's say over enrichment, honoured by the pipeline itself: tags they own,
suggestions they review, language, local-only and "don't enrich"."""

import pytest

from enrichment import pipeline
from enrichment.enrichers import EnrichmentResult
from enrichment.schema import Enrichment
from notes import tagging
from notes.models import Note, Preferences
from notes.status import ProcessingStatus
from notes.tags import vocabulary
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db


class Recorder:
    """An enricher that records how it was chosen and called, and answers ``tags``."""

    calls: list = []

    def __init__(self, backend, tags):
        self.name = backend or "configured"
        self.tags = tags

    def enrich(self, content, *, vocabulary=(), language=""):
        Recorder.calls.append(
            {"backend": self.name, "vocabulary": list(vocabulary), "language": language}
        )
        enrichment = Enrichment(
            title="T", summary="S", tags=self.tags, action_items=[], language="en"
        )
        return EnrichmentResult(enrichment, backend=self.name)


@pytest.fixture
def answer(monkeypatch):
    """answer(tags): the enricher the pipeline gets suggests ``tags``."""
    Recorder.calls = []
    suggested = {"tags": ["launch"]}

    def get_enricher(backend=None):
        return Recorder(backend, suggested["tags"])

    monkeypatch.setattr(pipeline, "get_enricher", get_enricher)

    def set_tags(tags):
        suggested["tags"] = tags
        return Recorder.calls

    return set_tags


def enrich(note):
    Note.objects.filter(pk=note.pk).update(processing_status=S.QUEUED, job_id="job-x")
    outcome = pipeline.run(note.pk, "job-x")
    note.refresh_from_db()
    return outcome


def test_it_passes_the_owners_vocabulary_most_used_first_and_language(user, answer):
    calls = answer(["launch"])
    make_note(user, "a", tags=["garden", "launch"])
    make_note(user, "b", tags=["garden"])
    make_note(make_user("other"), "c", tags=["secret"])
    Preferences.objects.create(user=user, enrichment_language="de")
    enrich(make_note(user, "d"))
    assert calls == [
        {"backend": "configured", "vocabulary": ["garden", "launch"], "language": "de"}
    ]


def test_vocabulary_is_bounded():
    owner = make_user()
    make_note(owner, "x", tags=[f"t{i}" for i in range(80)])
    assert len(vocabulary(owner.pk)) == 50


@pytest.mark.parametrize("choice", ["never_send_external", "model_enrichment_disabled"])
def test_local_only_people_are_enriched_by_the_local_backend(user, answer, choice):
    calls = answer(["launch"])
    Preferences.objects.create(user=user, **{choice: True})
    enrich(make_note(user))
    assert calls[0]["backend"] == "local"


def test_a_note_marked_dont_enrich_completes_without_any_enricher(user, answer):
    calls = answer(["launch"])
    note = make_note(user, skip_enrichment=True)
    assert enrich(note) == "completed"
    assert calls == []
    assert note.processing_status == S.COMPLETED
    assert note.enrichment_data is None
    assert note.status_detail == tagging.NOT_ENRICHED_DETAIL


def test_suggestions_are_applied_normalised_and_never_remove_the_persons_tags(user, answer):
    answer(["Machine-Learning", "Gardens"])
    note = make_note(user, tags=["my-own"])
    enrich(note)
    assert note.tags == ["my-own", "machine-learning", "garden"]
    answer(["machine_learning", "python"])  # re-enrichment suggests other tags
    enrich(note)
    assert note.tags == ["my-own", "machine-learning", "garden", "python"]


def test_a_rejected_or_removed_tag_is_never_suggested_again_for_that_note(user, answer):
    answer(["launch", "marketing"])
    note = make_note(user)
    enrich(note)
    tagging.remove_tag(note, "marketing")
    enrich(note)
    assert note.tags == ["launch"]
    assert note.rejected_tags == ["marketing"]
    other = make_note(user)
    enrich(other)  # rejected for that note only
    assert other.tags == ["launch", "marketing"]


def test_with_review_suggestions_wait_to_be_accepted_or_rejected(user, answer):
    Preferences.objects.create(user=user, auto_apply_suggestions=False)
    answer(["launch", "marketing", "mine"])
    note = make_note(user, tags=["mine"])
    enrich(note)
    assert note.tags == ["mine"]
    assert note.suggested_tags == ["launch", "marketing"]
    tagging.review_suggestion(note, "Launch", accept=True)
    tagging.review_suggestion(note, "marketing", accept=False)
    assert (note.tags, note.suggested_tags, note.rejected_tags) == (
        ["mine", "launch"], [], ["marketing"]
    )  # fmt: skip
    enrich(note)
    assert note.suggested_tags == []


def test_an_over_long_title_is_trimmed_not_a_failure(user, monkeypatch):
    def get_enricher(backend=None):
        class Wordy:
            name = "wordy"

            def enrich(self, content, **context):
                return EnrichmentResult(
                    Enrichment(
                        title="A very long title " * 30,
                        summary="S",
                        tags=[],
                        action_items=[],
                        language="en",
                    ),
                    backend="wordy",
                )

        return Wordy()

    monkeypatch.setattr(pipeline, "get_enricher", get_enricher)
    note = make_note(user)
    assert enrich(note) == "completed"
    assert 100 < len(note.enrichment_data["title"]) <= 200
    assert note.enrichment_data["title"].endswith("…")


def test_tag_counts_rename_merge_and_delete_stay_with_the_owner(user):
    other = make_user("other")
    a = make_note(user, tags=["ml", "python"])
    b = make_note(user, tags=["machine-learning"])
    theirs = make_note(other, tags=["ml"])
    assert tagging.tag_counts(user) == [("machine-learning", 1), ("ml", 1), ("python", 1)]
    assert tagging.rename_tag(user, "ML", "Machine learning") == 1  # a merge
    assert tagging.tag_counts(user) == [("machine-learning", 2), ("python", 1)]
    a.refresh_from_db()
    assert a.tags == ["machine-learning", "python"]
    assert tagging.delete_tag(user, "machine-learning") == 2
    a.refresh_from_db(), b.refresh_from_db(), theirs.refresh_from_db()
    assert a.tags == ["python"] and b.tags == []
    assert "machine-learning" in a.rejected_tags
    assert theirs.tags == ["ml"]
