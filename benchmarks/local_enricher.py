"""The offline enricher measured on the hand-labelled notes in tests/enrichment.

``measure()`` gives language accuracy, action-item recall and precision and the tags
that break the rules; the test suite asserts the floors, ``manage.py
local_enricher_report`` prints them with the speed and memory figures.
"""

import re
from dataclasses import dataclass, field

import stopwordsiso

from enrichment.enrichers.local import analyse

URL_PIECES = {"http", "https", "www", "com", "org", "net", "html", "io"}
SENTENCE_END = re.compile(r"[.!?。！？]")


def _key(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".。!！").split())


def matches(expected: str, produced: str) -> bool:
    a, b = _key(expected), _key(produced)
    return a in b or b in a


def forbidden(tag: str, language: str, must_not) -> str:
    """Why ``tag`` must not be a tag, or ""."""
    if tag in {_key(t) for t in must_not}:
        return "labelled as forbidden"
    if len(tag) > 30 or len(tag.split()) > 3:
        return "too long"
    if SENTENCE_END.search(tag) or "、" in tag or "，" in tag:
        return "a sentence"
    if set(re.split(r"\W+", tag)) & URL_PIECES or "/" in tag or "@" in tag:
        return "a URL fragment"
    stops = set(stopwordsiso.stopwords("en"))
    if language not in ("und", "en") and stopwordsiso.has_lang(language):
        stops |= stopwordsiso.stopwords(language)
    if tag in stops:
        return "a stop word"
    return ""


@dataclass
class Report:
    notes: int = 0
    language_right: int = 0
    expected_items: int = 0
    found_items: int = 0
    produced_items: int = 0
    correct_items: int = 0
    bad_tags: list = field(default_factory=list)
    missing_tags: list = field(default_factory=list)
    wrong: list = field(default_factory=list)

    @property
    def language_accuracy(self) -> float:
        return self.language_right / self.notes

    @property
    def recall(self) -> float:
        return self.found_items / self.expected_items if self.expected_items else 1.0

    @property
    def precision(self) -> float:
        return self.correct_items / self.produced_items if self.produced_items else 1.0


def measure(notes) -> Report:
    report = Report()
    for note in notes:
        result = analyse(note.text)
        report.notes += 1
        report.language_right += result.language == note.language
        if result.language != note.language:
            report.wrong.append(("language", note.language, result.language, note.text[:60]))
        report.expected_items += len(note.actions)
        for item in note.actions:
            if any(matches(item, got) for got in result.action_items):
                report.found_items += 1
            else:
                report.wrong.append(("missed item", item, result.action_items, note.text[:60]))
        report.produced_items += len(result.action_items)
        for got in result.action_items:
            if any(matches(item, got) for item in note.actions):
                report.correct_items += 1
            else:
                report.wrong.append(("extra item", got, note.actions, note.text[:60]))
        for tag in result.tags:
            reason = forbidden(tag, note.language, note.must_not)
            if reason:
                report.bad_tags.append((tag, reason, note.text[:60]))
        for tag in note.must:
            if not any(f" {_key(tag)} " in f" {got} " for got in result.tags):
                report.missing_tags.append((tag, result.tags, note.text[:60]))
    return report
