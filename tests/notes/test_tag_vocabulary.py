"""Tag sprawl, measured: 200 generated notes over 10 topics, enriched one after another by
the local enricher through the pipeline, each with the owner's vocabulary so far.

Prints the number of distinct tags and the share of suggested tags that reuse a tag the
owner already had; asserts floors that a sprawling tagger would miss.
"""

import random

import pytest
from django.test import override_settings

from enrichment import pipeline
from notes.models import Note
from notes.status import ProcessingStatus
from notes.tags import normalise_tags, vocabulary
from tests.factories import make_note

S = ProcessingStatus
pytestmark = pytest.mark.django_db

TOPICS = {
    "garden": "garden tomatoes compost seedlings watering soil beds harvest mulch pruning",
    "cooking": "recipe dinner oven pasta sauce garlic baking bread spices kitchen",
    "running": "running marathon training pace intervals shoes race stretching miles",
    "finance": "budget savings invoice taxes expenses pension mortgage bank account",
    "travel": "travel flights hotel passport itinerary luggage museum train booking",
    "python": "python django tests deploy database queries refactor migrations code",
    "music": "guitar chords practice song concert rehearsal piano scales band",
    "health": "doctor appointment vitamins sleep blood pressure exercise checkup diet",
    "reading": "books novel chapter library author reading notes review fiction",
    "home": "plumber roof repairs paint kitchen cabinets furniture cleaning renovation",
}
FILLER = "today this week we should remember to check and then plan the next steps for"


def generated_notes(count=200, seed=7):
    rng = random.Random(seed)
    topics = list(TOPICS.items())
    notes = []
    for i in range(count):
        name, words = topics[i % len(topics)]
        words, filler = words.split(), FILLER.split()
        sentences = []
        for _ in range(rng.randint(3, 5)):
            picked = rng.sample(words, 4) + rng.sample(filler, 4)
            rng.shuffle(picked)
            sentences.append(" ".join(picked).capitalize() + ".")
        notes.append(" ".join(sentences))
    return notes


@override_settings(ENRICHMENT_BACKEND="local")
def test_it_prints_distinct_tags_and_reuse_share_on_200_notes_over_10_topics(user):
    reused = suggested = 0
    for content in generated_notes():
        known = set(vocabulary(user.pk, limit=10_000))
        note = make_note(user, content, status=S.QUEUED, job_id="job-1")
        assert pipeline.run(note.pk, "job-1") == "completed"
        note.refresh_from_db()
        tags = normalise_tags(note.enrichment_data["tags"])
        suggested += len(tags)
        reused += sum(1 for tag in tags if tag in known)
    distinct = len(set(vocabulary(user.pk, limit=10_000)))
    share = reused / suggested if suggested else 0.0
    per_note = suggested / 200
    print(
        f"\n200 notes, 10 topics, local enricher: {distinct} distinct tags, "
        f"{suggested} suggested ({per_note:.1f} per note), {share:.0%} reused an existing tag"
    )
    assert Note.objects.filter(owner=user, tags=[]).count() < 20  # nearly every note tagged
    assert per_note >= 1
    # Floors, not targets: a tagger that invents new tags note by note would miss them.
    assert distinct <= 150
    assert share >= 0.5


def test_the_vocabulary_counts_only_the_newest_notes(user, monkeypatch):
    from notes import tags

    monkeypatch.setattr(tags, "VOCABULARY_NOTES", 2)
    for tag_list in (["old"], ["old"], ["recent"], ["recent", "latest"]):
        note = make_note(user, "Words.")
        Note.objects.filter(pk=note.pk).update(tags=tag_list)
    assert vocabulary(user.pk) == ["recent", "latest"]
