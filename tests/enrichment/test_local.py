"""The local enricher: offline, deterministic and useful in the languages people write."""

import pytest

from benchmarks.local_enricher import forbidden, measure
from enrichment.enrichers.local import LocalEnricher
from enrichment.errors import PermanentEnrichmentError
from enrichment.text import language, words
from enrichment.text.language import detect_language
from tests.enrichment.labelled_notes import NOTES

RUSSIAN = (
    "Завтра встреча с командой по поводу нового проекта. Мы обсудим бюджет и сроки. "
    "Нужно подготовить презентацию и отправить отчёт."
)
JAPANESE = "明日の会議では新しいプロジェクトの予算について話し合います。田中さんに資料を送ること。"
ENGLISH_WITH_URL = (
    "We agreed to ship the importer on Friday after a long review of the parser and of the "
    "way it reads large files. The parser bug is fixed in "
    "https://github.com/acme/importer/pull/42 and the importer handles large CSV files. "
    "Maria reviews the importer docs, TODO: write the release notes. Next we look at the "
    "export."
)
MARKDOWN = """# Lisbon trip

Read [the guide](https://example.com/lisbon-guide) before we go. Visit the Belém tower
on Saturday. Remember: the museums close on Mondays.

- [ ] Book the hotel near Alfama
- [x] Buy the flights
"""


def enrich(text, **kwargs):
    return LocalEnricher().enrich(text, **kwargs).enrichment


def assert_clean_tags(result):
    for tag in result.tags:
        assert not forbidden(tag, result.language, []), tag


def test_it_handles_the_russian_note():
    result = enrich(RUSSIAN)
    assert result.language == "ru"
    assert "бюджет" in result.tags
    assert not {"поводу", "нового", "нужно", "завтра"} & set(result.tags)
    assert result.action_items == ["Нужно подготовить презентацию", "отправить отчёт"]
    assert result.title == "Завтра встреча с командой по поводу нового проекта"
    assert_clean_tags(result)


def test_it_handles_the_japanese_note():
    result = enrich(JAPANESE)
    assert result.language == "ja"
    assert {"予算", "プロジェクト", "資料"} <= set(result.tags)
    assert all(len(tag) <= 10 and "。" not in tag for tag in result.tags)
    assert result.action_items == ["田中さんに資料を送ること"]
    assert result.summary.endswith("送ること。")


def test_it_handles_the_english_note_with_a_url():
    result = enrich(ENGLISH_WITH_URL)
    assert result.language == "en"
    assert "importer" in result.tags
    assert not {"com", "acme", "github", "https", "pull", "agreed", "fixed", "next"} & set(
        result.tags
    )
    assert result.action_items == ["write the release notes"]
    assert result.title == "We agreed to ship the importer on Friday after a long review"
    assert "…" not in result.title and len(result.title) <= 60


def test_it_handles_the_markdown_note():
    result = enrich(MARKDOWN)
    assert result.title == "Lisbon trip"
    assert not {"https", "example", "com"} & set(result.tags)
    assert "lisbon" in result.tags
    assert result.action_items == [
        "Read the guide before we go",
        "Visit the Belém tower on Saturday",
        "Book the hotel near Alfama",
    ]
    assert "[the guide]" not in result.summary and "https" not in result.summary


def test_summary_sentences_keep_their_punctuation():
    summary = enrich(MARKDOWN).summary
    assert "Read the guide before we go. Visit the Belém tower on Saturday." in summary
    assert summary.endswith("the museums close on Mondays.")


def test_the_labelled_notes_meet_the_floors():
    report = measure(NOTES)
    assert report.notes >= 80
    assert len({note.language for note in NOTES} - {"und"}) >= 10
    assert report.language_accuracy >= 0.95, report.wrong
    assert report.recall >= 0.90, report.wrong
    assert report.precision >= 0.90, report.wrong
    assert report.bad_tags == []


@pytest.mark.parametrize(
    "text,code",
    [
        ("Wir haben über das Projekt und die Kosten mit dem Team gesprochen.", "de"),
        ("Nous avons parlé de la réunion et des budgets avec les équipes.", "fr"),
        ("Hablamos con el equipo sobre el proyecto y los costes.", "es"),
        ("Abbiamo parlato con il team del progetto e dei costi.", "it"),
        ("Falámos com a equipa sobre o projeto e os custos.", "pt"),
        ("We hebben met het team over het project en de kosten gepraat.", "nl"),
        ("Мы поговорили с командой о проекте и расходах.", "ru"),
        ("Ми поговорили з командою про проєкт і витрати.", "uk"),
        ("Rozmawialiśmy z zespołem o projekcie i kosztach.", "pl"),
        ("تحدثنا مع الفريق عن المشروع والتكاليف.", "ar"),
        ("我们和团队讨论了项目和费用。", "zh"),
        ("チームとプロジェクトの費用について話しました。", "ja"),
        ("팀과 프로젝트 비용에 대해 이야기했습니다.", "ko"),
        ("We talked with the team about the project and the costs.", "en"),
    ],
)
def test_it_identifies_short_notes_in_each_language(text, code):
    assert detect_language(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "Buy milk",
        "Meeting 10:30",
        "The meeting with the supplier went well overall and quickly.\n"
        "Wir müssen den Vertrag bis nächste Woche unterschreiben lassen.",
    ],
)
def test_too_short_or_mixed_text_is_undetermined(text):
    assert detect_language(text) == "und"


def test_open_task_items_are_action_items_and_ticked_ones_are_not():
    items = enrich("Groceries\n\n- [ ] oat milk\n- [x] bread\n- [ ] eggs").action_items
    assert items == ["oat milk", "eggs"]


def test_markers_anywhere_in_a_line_end_with_their_sentence():
    text = (
        "Shipped the fix. Then, to do: update the changelog. The team is happy.\nAction: ping Ana"
    )
    assert enrich(text).action_items == ["update the changelog", "ping Ana"]


def test_a_paragraph_of_imperatives_gives_one_item_per_sentence():
    items = enrich(
        "Pack the bags. Call the taxi and water the plants. We leave at six."
    ).action_items
    assert items == ["Pack the bags", "Call the taxi", "water the plants"]


def test_statements_are_not_action_items():
    text = "Book club picked a novel for May. The review meeting went well. Sales grew."
    assert enrich(text).action_items == []


def test_tags_leave_out_code_emails_and_numbers():
    text = (
        "Deploy notes for the billing service.\n\n```python\nimport kubernetes_client\n```\n\n"
        "Write to ops@example.org about the billing service before 2025-03-01, ticket 4711."
    )
    tags = enrich(text).tags
    assert "billing service" in tags
    assert not any(bad in " ".join(tags) for bad in ("kubernetes", "ops", "example", "4711"))


def test_tags_are_short_phrases():
    long_text = " ".join(["The distributed consensus protocol elects one leader per term."] * 5)
    for tag in enrich(long_text).tags:
        assert len(tag) <= 30 and 1 <= len(tag.split()) <= 3


def test_the_persons_own_tags_are_preferred():
    text = "Planning the spring campaign budget with the agency. The campaign budget is tight."
    tags = enrich(text, vocabulary=["Campaign-Budgets", "travel"]).tags
    assert tags[0] == "campaign-budgets"
    assert "campaign budget" not in tags and "travel" not in tags


def test_a_chosen_language_does_not_change_what_is_extracted():
    assert enrich(RUSSIAN, language="en") == enrich(RUSSIAN)


def test_a_long_first_sentence_becomes_a_clause_or_keyphrases_never_a_cut_word():
    text = (
        "Notes from the architecture review of the payment gateway rewrite and the new "
        "settlement batch jobs that the finance team asked for last quarter. The payment "
        "gateway needs retries. Settlement batches run nightly."
    )
    title = enrich(text).title
    assert len(title) <= 60 and not title.endswith("…")
    assert text.startswith(title) or "payment gateway" in title.lower()


def test_a_sentence_never_becomes_a_chinese_tag():
    result = enrich("明天和团队开会讨论新项目的预算。请把报告发给财务部。")
    assert result.language == "zh"
    assert "预算" in result.tags
    assert all(len(tag) <= 6 for tag in result.tags)
    assert result.action_items == ["请把报告发给财务部"]


def test_models_load_once_per_process():
    enrich("明天和团队开会讨论新项目的预算。")
    enrich("下周和客户开会讨论合同。")
    enrich(RUSSIAN)
    enrich(ENGLISH_WITH_URL)
    assert words._jieba.cache_info().misses == 1
    assert language._identifier.cache_info().misses == 1


def test_it_is_deterministic():
    assert enrich(MARKDOWN) == enrich(MARKDOWN)


def test_word_count_and_reading_time():
    assert words.text_stats("word " * 450) == {"word_count": 450, "reading_time_minutes": 2}


def test_a_note_without_words_cannot_be_enriched():
    with pytest.raises(PermanentEnrichmentError, match="no words"):
        enrich("1234 !!! ---")


def test_a_note_of_only_code_is_still_enriched():
    result = enrich("```python\nprint(reindex_tenant(tenant_id))\n```")
    assert result.title and result.summary


def test_a_very_short_note_still_gets_a_title_and_summary():
    result = enrich("Buy milk")
    assert (result.title, result.summary, result.action_items) == (
        "Buy milk",
        "Buy milk",
        ["Buy milk"],
    )
    assert result.language == "und"
