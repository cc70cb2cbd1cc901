"""Keyphrases: statistical scoring of stop-word-delimited candidates, YAKE's idea.

Candidates are the one- to three-word n-grams inside runs of content words (RAKE's
candidates: stop words and punctuation end a phrase, so "the" or a URL piece never starts
or ends one). A word weighs more when it recurs, when it appears early and in a heading,
and when it spreads over several sentences; a phrase weighs its words and how often it
recurs as a whole. These are the statistical features YAKE uses. YAKE itself was measured
here at 14 ms for a 120-word note and 0.6 s for 2,000 words, well over the budget of
10 ms per typical note and 200 ms per 10,000 words; this scoring is linear and meets it.
TF-IDF needs a corpus per person, which the enricher does not have; TextRank's graph
iteration costs more and ranks about the same on notes this short.
"""

import math
from collections import Counter, defaultdict

from notes.tags import normalise_tag

MAX_WORDS = 3
MAX_CHARS = 30


def keyphrases(runs_per_sentence: list[list[list[str]]], *, joiner: str = " ") -> list[str]:
    """Ranked keyphrases; ``runs_per_sentence[i]`` holds the word runs of sentence ``i``.

    Heading words come as sentence 0. ``joiner`` is "" for scripts without spaces.
    """
    word_count: Counter = Counter()
    first_seen: dict[str, int] = {}
    sentences_of: defaultdict = defaultdict(set)
    phrase_count: Counter = Counter()
    for index, runs in enumerate(runs_per_sentence):
        for run in runs:
            for pos, word in enumerate(run):
                word_count[word] += 1
                first_seen.setdefault(word, index)
                sentences_of[word].add(index)
                for n in range(1, MAX_WORDS + 1):
                    if pos + n <= len(run):
                        phrase_count[tuple(run[pos : pos + n])] += 1
    if not word_count:
        return []
    n_sentences = len(runs_per_sentence)

    def weight(word: str) -> float:
        spread = len(sentences_of[word]) / n_sentences
        early = 1 / (1 + math.log1p(first_seen[word]))
        return math.log1p(word_count[word]) * (1 + spread) * (1 + early)

    scored = []
    for phrase, count in phrase_count.items():
        if len(phrase) > 1 and count < 2:
            continue  # a phrase must recur to beat its own words
        text = joiner.join(phrase)
        if len(text) > MAX_CHARS or (len(phrase) > 1 and len(set(phrase)) < len(phrase)):
            continue
        score = sum(weight(w) for w in phrase) / len(phrase) * (1 + 0.5 * (len(phrase) - 1))
        score *= math.log1p(count) / math.log(2)
        scored.append((-score, first_seen[phrase[0]], text, phrase))
    scored.sort()
    return [(text, phrase) for _, _, text, phrase in scored]


def choose_tags(
    ranked: list[tuple[str, tuple]], vocabulary, *, limit: int, text: str, joiner: str
) -> list[str]:
    """Up to ``limit`` tags: the person's own tags that the note mentions first, then new ones.

    A keyphrase whose normalised form matches an existing tag takes that tag's spelling.
    A new phrase is skipped when it only repeats words of a tag already chosen.
    """
    known = {normalise_tag(tag): tag for tag in vocabulary if normalise_tag(tag)}
    chosen: list[str] = []
    covered: set[str] = set()
    padded = ""
    if known:
        padded = normalise_tag(text)
        padded = f" {padded} " if joiner else padded
    for key, tag in known.items():
        needle = f" {key} " if joiner else key
        if needle in padded and len(chosen) < limit:
            chosen.append(tag)
            covered |= set(key.split())
    for text_, phrase in ranked:
        if len(chosen) >= limit:
            break
        key = normalise_tag(text_)
        tag = known.get(key, text_)
        words = {normalise_tag(w) for w in phrase}
        if tag in chosen or words <= covered or (len(phrase) > 1 and words & covered):
            continue
        chosen.append(tag)
        covered |= words
    return chosen
