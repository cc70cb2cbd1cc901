"""The local enricher: offline, deterministic and useful."""

import pytest

from enrichment.enrichers.local import LocalEnricher, detect_language, text_stats
from enrichment.errors import PermanentEnrichmentError

MEETING = """Quarterly planning meeting

The marketing team reviewed the campaign budget for the spring launch. Budget approval is
needed before the agency can start. The campaign targets small businesses in three regions.
Sales reported that small businesses respond best to webinars about the product.

- [ ] Send the campaign budget to finance
- [x] Book the room for the webinar
TODO: draft the webinar agenda
Call the agency about the launch dates.
"""


def enrich(text):
    return LocalEnricher().enrich(text).enrichment


def test_it_suggests_the_first_line_as_title():
    assert enrich(MEETING).title == "Quarterly planning meeting"


def test_the_summary_does_not_repeat_the_title():
    result = enrich("Weekly report.\nSales grew in March. The team hired two engineers.")
    assert result.title == "Weekly report"
    assert "Weekly report" not in result.summary
    assert result.summary.startswith("Sales grew in March.")


def test_it_summarises_with_the_most_informative_sentences():
    summary = enrich(MEETING).summary
    assert "campaign budget" in summary
    assert summary.count(".") <= 3
    assert "[ ]" not in summary


def test_it_tags_with_the_notes_own_keywords():
    tags = enrich(MEETING).tags
    assert 3 <= len(tags) <= 8
    assert "campaign" in tags and "budget" in tags
    assert all(tag in MEETING.lower() for tag in tags)
    assert "the" not in tags


def test_it_finds_open_checkboxes_todos_and_imperative_lines_but_not_done_ones():
    items = enrich(MEETING).action_items
    assert "Send the campaign budget to finance" in items
    assert "draft the webinar agenda" in items
    assert "Call the agency about the launch dates" in items
    assert not any("Book the room" in item for item in items)


@pytest.mark.parametrize(
    "text,language",
    [
        ("Nous avons parlé de la réunion et des budgets pour le projet avec les équipes.", "fr"),
        ("Wir haben über das Projekt und die Kosten mit dem Team gesprochen.", "de"),
        ("Hablamos con el equipo sobre el proyecto y los costes para la reunión.", "es"),
        ("We talked with the team about the project and the costs for the meeting.", "en"),
    ],
)
def test_it_detects_the_language(text, language):
    assert detect_language(text.split()) == language


def test_it_is_deterministic():
    assert enrich(MEETING) == enrich(MEETING)


def test_word_count_and_reading_time():
    stats = text_stats("word " * 450)
    assert stats == {"word_count": 450, "reading_time_minutes": 2}


def test_a_note_without_words_cannot_be_enriched():
    with pytest.raises(PermanentEnrichmentError, match="no words"):
        enrich("1234 !!! ---")


def test_a_short_note_still_gets_a_title_and_summary():
    result = enrich("Buy milk")
    assert result.title == "Buy milk"
    assert result.summary == "Buy milk"
    assert result.action_items == ["Buy milk"]
