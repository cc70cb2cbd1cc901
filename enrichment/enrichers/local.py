"""The offline enricher: deterministic, no network, and useful on its own.

The note's Markdown becomes plain text blocks (:mod:`enrichment.text.markup`); its language
comes from py3langid and script rules (:mod:`enrichment.text.language`); tags are ranked
keyphrases (:mod:`enrichment.text.keyphrases`), mapped onto the person's own tags;
action items are open tasks, TODO markers and imperative sentences
(:mod:`enrichment.text.actions`). The title is a heading, the first clause or the leading
keyphrases; the summary is the note's most informative whole sentences. Numbers are
left out of keyphrases only: a summary or a to-do keeps "by 15 May".

Tags are not lemmatised: a Russian tag keeps the form the note uses ("проекта").
simplemma, the one multilingual lemmatiser with dictionaries in its wheel, took 830 MiB
and over a minute to load seven languages here.

Models load once per process. The language model, needed by every note, loads when the
enricher is first made (a worker's preload does that before forking or taking jobs);
jieba's dictionary loads on the first Chinese note, so a worker that never sees one
never pays its ~60 MB.
"""

import re
from collections.abc import Sequence

from enrichment.errors import PermanentEnrichmentError
from enrichment.schema import Enrichment
from enrichment.text import actions, keyphrases, language, markup, words

from . import EnrichmentResult

MAX_SUMMARY_SENTENCES = 3
MAX_SUMMARY_CHARS = 600
MAX_TAGS = 5
MAX_TITLE_CHARS = 60
# Keyphrases and the summary read the first ``ANALYSED_CHARS`` of text: a note states its
# topic early, and segmenting a long Chinese or Japanese note costs seconds. Action
# items are looked for in the whole note.
ANALYSED_CHARS = 8_000
NUMBER_RE = re.compile(r"\d[\d.,:/%-]*")
CLAUSE_RE = re.compile(r"[,;:(–—]|\s-\s|[.!?。！？](?=\s|$)|[、，；：]")
NO_SPACES = ("ja", "zh")


def _runs(text: str, lang: str) -> list[list[str]]:
    return words.phrase_runs(NUMBER_RE.sub(" ", text), lang)


def _title(blocks, ranked, lang: str) -> str:
    headings = [b.text for b in blocks if b.kind == "heading"]
    first = (headings or blocks[0].sentences or [blocks[0].text])[0]
    first = re.sub(r"^(?:TODO|To[ -]?do|Action)\s*:\s*", "", first, flags=re.IGNORECASE)
    candidates = [first]
    if not headings:
        clause = CLAUSE_RE.split(first, maxsplit=1)[0].strip()
        candidates.append(clause)
    for candidate in candidates:
        candidate = candidate.strip().rstrip(".。!！:：")
        if candidate and len(candidate) <= MAX_TITLE_CHARS:
            return candidate
    if lang not in NO_SPACES:
        phrase = _leading_phrase(candidates[-1], lang)
        if len(phrase) >= MAX_TITLE_CHARS // 2:
            return phrase
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
    return _leading_phrase(first, lang) or first[:MAX_TITLE_CHARS] or "Untitled note"


def _leading_phrase(clause: str, lang: str) -> str:
    """The clause's first words up to ``MAX_TITLE_CHARS``, ending on a content word."""
    kept: list[str] = []
    for word in clause.split():
        if len(" ".join([*kept, word])) > MAX_TITLE_CHARS:
            break
        kept.append(word)
    stops = words.stop_words(lang)
    while kept and kept[-1].lower().strip(",;:") in stops:
        kept.pop()
    return " ".join(kept).rstrip(",;:")


def _summary(blocks, ranked, title: str, lang: str) -> str:
    # A heading or a one-line first paragraph that became the title says nothing new.
    lines = {b.text.rstrip(".。") for b in blocks}
    body = [
        sentence
        for block in blocks
        if block.kind == "paragraph" and block.checked is None
        for sentence in block.sentences
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


def _leading(blocks):
    """The blocks that fit in ``ANALYSED_CHARS``; at least the first."""
    head, size = [], 0
    for block in blocks:
        size += len(block.text)
        if head and size > ANALYSED_CHARS:
            break
        head.append(block)
    return head


def analyse(content: str, vocabulary: Sequence[str] = ()) -> Enrichment:
    """The enrichment of one note's Markdown."""
    blocks = markup.blocks(content)
    plain = "\n".join(b.text for b in blocks)
    if not words.WORD_RE.search(plain):
        # Nothing but code (or markup): its own text is all there is to go on.
        plain = markup.strip_addresses(content)
        blocks = [markup.Block("paragraph", plain)]
    if not words.WORD_RE.search(plain):
        raise PermanentEnrichmentError("The note has no words to enrich.")
    lang = language.detect_language(plain)
    analysis_lang = lang
    if lang == language.UNDETERMINED:
        # Segment by script even when the language is unsure: kana or Han still need it.
        analysis_lang = "ja" if language.KANA_RE.search(plain) else ""
        analysis_lang = analysis_lang or ("zh" if language.HAN_RE.search(plain) else lang)
    head = _leading(blocks)
    headings = [_runs(b.text, analysis_lang) for b in head if b.kind == "heading"]
    # A ticked item is history: it says little about what the note is about now.
    body = [
        _runs(sentence, analysis_lang)
        for b in head
        if b.kind != "heading" and not b.checked
        for sentence in b.sentences
    ]
    joiner = "" if analysis_lang in NO_SPACES else " "
    ranked = keyphrases.keyphrases([sum(headings, [])] + body, joiner=joiner)
    title = _title(blocks, ranked, analysis_lang)
    head_text = NUMBER_RE.sub(" ", "\n".join(b.text for b in head))
    tags = keyphrases.choose_tags(ranked, vocabulary, limit=MAX_TAGS, text=head_text, joiner=joiner)
    return Enrichment(
        title=title,
        summary=_summary(head, ranked, title, analysis_lang),
        tags=tags,
        action_items=actions.action_items(blocks, analysis_lang),
        language=lang,
    )


class LocalEnricher:
    name = "local"

    def __init__(self):
        language.load_model()

    def enrich(
        self, content: str, *, vocabulary: Sequence[str] = (), language: str = ""
    ) -> EnrichmentResult:
        # ``language`` asks for fields in another language; extraction cannot translate,
        # so the note's own language is kept and recorded.
        return EnrichmentResult(enrichment=analyse(content, vocabulary), backend=self.name)


def warm_up() -> None:
    """Load every model now rather than on the first note of each language."""
    language.load_model()
    words.phrase_runs("模型加载", "zh")
