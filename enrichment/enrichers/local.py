"""The offline enricher: deterministic, no network, and useful on its own.

The note's Markdown becomes plain text blocks (:mod:`enrichment.text.markup`); its language
comes from py3langid and script rules (:mod:`enrichment.text.language`); tags are ranked
keyphrases (:mod:`enrichment.text.keyphrases`), mapped onto the person's own tags;
action items are open tasks, TODO markers and imperative sentences
(:mod:`enrichment.text.actions`). The title is a heading, the first clause or the leading
keyphrases; the summary is the note's most informative whole sentences.

The models (py3langid, jieba, Janome) load once per process, on first use; ``warm_up``
loads them up front, for a worker that forks after loading.
"""

import re
from collections.abc import Sequence

from enrichment.errors import PermanentEnrichmentError
from enrichment.schema import Enrichment
from enrichment.text import actions, keyphrases, language, markup, words

from . import EnrichmentResult

WORDS_PER_MINUTE = 200
MAX_SUMMARY_SENTENCES = 3
MAX_SUMMARY_CHARS = 600
MAX_TAGS = 5
MAX_TITLE_CHARS = 60
NUMBER_RE = re.compile(r"\d[\d.,:/%-]*")
CLAUSE_RE = re.compile(r"[,;:(–—]|\s-\s|[.!?。！？](?=\s|$)|[、，；：]")
NO_SPACES = ("ja", "zh")


def _runs(text: str, lang: str) -> list[list[str]]:
    return words.phrase_runs(NUMBER_RE.sub(" ", text), lang)


def _title(blocks, ranked, lang: str) -> str:
    headings = [b.text for b in blocks if b.kind == "heading"]
    first = (headings or actions.sentences(blocks[0].text) or [blocks[0].text])[0]
    first = re.sub(r"^(?:TODO|To[ -]?do|Action)\s*:\s*", "", first, flags=re.IGNORECASE)
    candidates = [first]
    if not headings:
        clause = CLAUSE_RE.split(first, maxsplit=1)[0].strip()
        candidates.append(clause)
    for candidate in candidates:
        candidate = candidate.strip().rstrip(".。!！:：")
        if candidate and len(candidate) <= MAX_TITLE_CHARS:
            return candidate
    if ranked:
        joiner = "、" if lang in NO_SPACES else ", "
        title = ""
        for phrase, _ in ranked[:3]:
            longer = f"{title}{joiner}{phrase}" if title else phrase
            if len(longer) > MAX_TITLE_CHARS:
                break
            title = longer
        if title:
            return title[0].upper() + title[1:]
    cut = first[:MAX_TITLE_CHARS]
    if lang not in NO_SPACES and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(",;:") or "Untitled note"


def _summary(blocks, ranked, title: str, lang: str) -> str:
    # A heading or a one-line first paragraph that became the title says nothing new.
    lines = {b.text.rstrip(".。") for b in blocks}
    body = [
        sentence
        for block in blocks
        if block.kind == "paragraph" and block.checked is None
        for sentence in actions.sentences(block.text)
        if not (sentence.rstrip(".。") == title and title in lines)
    ]
    if not body:
        body = [b.text.replace("\n", " ") for b in blocks if b.text != title] or [title]
        joined = "; ".join(body)
        return joined if len(joined) <= MAX_SUMMARY_CHARS else body[0][:MAX_SUMMARY_CHARS]
    weights = {phrase: len(ranked) - rank for rank, (phrase, _) in enumerate(ranked[:20])}

    def score(sentence: str) -> float:
        lowered = sentence.lower()
        hits = sum(weight for phrase, weight in weights.items() if phrase in lowered)
        return hits / max(1, len(sentence)) ** 0.5

    order = sorted(range(len(body)), key=lambda i: (-score(body[i]), i))
    chosen, length = [], 0
    for i in order[:MAX_SUMMARY_SENTENCES]:
        if length + len(body[i]) > MAX_SUMMARY_CHARS and chosen:
            continue
        chosen.append(i)
        length += len(body[i]) + 1
    joiner = "" if lang in NO_SPACES else " "
    return joiner.join(body[i] for i in sorted(chosen))[:2000]


def analyse(content: str, vocabulary: Sequence[str] = ()) -> Enrichment:
    """The enrichment of one note's Markdown."""
    blocks = markup.blocks(content)
    plain = "\n".join(b.text for b in blocks)
    if not words.WORD_RE.search(plain):
        raise PermanentEnrichmentError("The note has no words to enrich.")
    lang = language.detect_language(plain)
    analysis_lang = lang
    if lang == language.UNDETERMINED:
        # Segment by script even when the language is unsure: kana or Han still need it.
        analysis_lang = "ja" if language.KANA_RE.search(plain) else ""
        analysis_lang = analysis_lang or ("zh" if language.HAN_RE.search(plain) else "en")
    headings = [_runs(b.text, analysis_lang) for b in blocks if b.kind == "heading"]
    body = [
        _runs(sentence, analysis_lang)
        for b in blocks
        if b.kind != "heading"
        for sentence in actions.sentences(b.text)
    ]
    joiner = "" if analysis_lang in NO_SPACES else " "
    ranked = keyphrases.keyphrases([sum(headings, [])] + body, joiner=joiner)
    title = _title(blocks, ranked, analysis_lang)
    tags = keyphrases.choose_tags(
        ranked, vocabulary, limit=MAX_TAGS, text=NUMBER_RE.sub(" ", plain), joiner=joiner
    )
    return Enrichment(
        title=title,
        summary=_summary(blocks, ranked, title, analysis_lang),
        tags=tags,
        action_items=actions.action_items(blocks, analysis_lang),
        language=lang,
    )


class LocalEnricher:
    name = "local"

    def enrich(
        self, content: str, *, vocabulary: Sequence[str] = (), language: str = ""
    ) -> EnrichmentResult:
        # ``language`` asks for fields in another language; extraction cannot translate,
        # so the note's own language is kept and recorded.
        return EnrichmentResult(enrichment=analyse(content, vocabulary), backend=self.name)


def warm_up() -> None:
    """Load every model now rather than on the first note of each language."""
    language.detect_language("warm up the language model now")
    words.phrase_runs("模型加载", "zh")
    words.phrase_runs("辞書の読み込み", "ja")


def text_stats(content: str) -> dict:
    count = words.count_words(content)
    return {
        "word_count": count,
        "reading_time_minutes": max(1, round(count / WORDS_PER_MINUTE)) if count else 0,
    }
