"""The offline enricher: deterministic, no network, and useful on its own.

It scores words by frequency (stop words of the detected language removed), keeps the
most informative sentences as an extractive summary, takes tags from the note's own
keywords, and picks out action items: checkboxes, TODO lines and imperative lines.
"""

import re
from collections import Counter
from collections.abc import Sequence

from enrichment.errors import PermanentEnrichmentError
from enrichment.schema import Enrichment

from . import EnrichmentResult

STOP_WORDS = {
    "en": set(
        """a about above after again against all also am an and any are as at be because been
        before being below between both but by can could did do does doing down during each few
        for from further had has have having he her here hers herself him himself his how i if in
        into is it its itself just let me more most my myself no nor not now of off on once only
        or other our ours ourselves out over own same she should so some such than that the their
        theirs them themselves then there these they this those through to too under until up
        very was we were what when where which while who whom why will with would you your yours
        yourself yourselves get got one two also may might must need needs shall us via etc per
        really like make made much many well still even back way things thing going want""".split()
    ),
    "fr": set(
        """au aux avec ce ces dans de des du elle en et eux il je la le les leur lui ma mais me
        même mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te
        tes toi ton tu un une vos votre vous est sont été être avoir fait faire comme plus tout
        cette aussi bien donc car""".split()
    ),
    "de": set(
        """aber alle als also am an auch auf aus bei bin bis bist da dann das dass dem den der des
        die dies doch du durch ein eine einem einen einer eines er es für hat hatte ich ihr im in
        ist ja kann mit nach nicht noch nur ob oder sich sie sind so über um und uns von vor war
        wie wir wird zu zum zur werden wurde""".split()
    ),
    "es": set(
        """a al algo como con de del el ella en entre es esta este esto ha hay la las le lo los
        más me mi muy no nos o para pero por que se si sin sobre su sus también te tu un una uno
        y ya son está están ser fue""".split()
    ),
    "it": set(
        """a al alla anche che chi con da del della di e è gli ha ho i il in la le lo ma mi ne
        non per più quella questo se si sono su tra un una uno ci come sua suo""".split()
    ),
    "pt": set(
        """a ao aos as com como da das de do dos e é ela ele em entre era essa esse esta este eu
        foi há isso já mais mas me muito na não nas no nos o os ou para pela pelo por que se sem
        seu sua são também um uma você""".split()
    ),
    "nl": set(
        """aan al als bij dan dat de der die dit door een en er het hij hoe ik in is je kan maar
        met mijn naar niet nog of om ook op over te tot uit van voor was wat we wel wij zijn zo
        ze zij""".split()
    ),
}

ACTION_VERBS = set(
    """add ask book buy call cancel check clean confirm contact create decide deploy draft email
    file finish fix follow get install invite learn make meet move order pay pick plan prepare
    print read refactor remember remind renew reply request research review schedule send set
    sign submit test update upgrade verify visit write""".split()
)

WORD_RE = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(\[])|\n{2,}")
CHECKBOX_RE = re.compile(r"^\s*(?:[-*+]\s*)?\[( |x|X)?\]\s*(.+)$")
TODO_RE = re.compile(r"^\s*(?:[-*+]\s*)?(?:TODO|To ?do|Action|AI)\s*[:\-]\s*(.+)$", re.IGNORECASE)
BULLET_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.+)$")
MARKUP_RE = re.compile(r"^[#>\s*-]+")

WORDS_PER_MINUTE = 200
MAX_SUMMARY_SENTENCES = 3
MAX_TAGS = 8


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def detect_language(tokens: list[str]) -> str:
    """The language whose stop words appear most often; English when nothing stands out."""
    lowered = [t.lower() for t in tokens]
    scores = {lang: sum(1 for t in lowered if t in stops) for lang, stops in STOP_WORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] > 0 else "en"


def split_sentences(text: str) -> list[str]:
    sentences = []
    for block in SENTENCE_RE.split(text):
        for line in block.splitlines():
            if CHECKBOX_RE.match(line) or TODO_RE.match(line):
                continue  # to-do lines are action items, not summary material
            line = MARKUP_RE.sub("", line).strip()
            if len(words(line)) >= 3:
                sentences.append(" ".join(line.split()))
    return sentences


def keyword_counts(tokens: list[str], stops: set[str]) -> Counter:
    counts = Counter()
    for token in tokens:
        word = token.lower().strip("'’-")
        if len(word) > 2 and word not in stops and word not in STOP_WORDS["en"]:
            counts[word] += 1
    return counts


def extract_action_items(text: str) -> list[str]:
    items = []
    for line in text.splitlines():
        match = CHECKBOX_RE.match(line)
        if match:
            if (match.group(1) or " ").lower() != "x":  # a ticked box is done
                items.append(match.group(2).strip())
            continue
        match = TODO_RE.match(line)
        if match:
            items.append(match.group(1).strip())
            continue
        bullet = BULLET_RE.match(line)
        candidate = (bullet.group(1) if bullet else line).strip()
        first = candidate.split(maxsplit=1)[0].lower().strip(",.:;!") if candidate else ""
        if first in ACTION_VERBS and len(words(candidate)) >= 2:
            items.append(candidate.rstrip("."))
    seen, unique = set(), []
    for item in items:
        key = item.lower()
        if key not in seen:
            seen.add(key)
            unique.append(item[:500])
    return unique[:50]


def summarise(sentences: list[str], counts: Counter) -> str:
    if not sentences:
        return ""
    top = max(counts.values(), default=1)

    def score(sentence):
        toks = [t.lower() for t in words(sentence)]
        informative = [counts[t] / top for t in toks if t in counts]
        # Favour dense sentences, a little the early ones; long ones are not free.
        return sum(informative) / (len(toks) ** 0.5 or 1)

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))
    chosen = sorted(ranked[:MAX_SUMMARY_SENTENCES])
    summary = " ".join(sentences[i] for i in chosen)
    return summary[:2000].rstrip()


def suggest_title(text: str, counts: Counter) -> str:
    for line in text.splitlines():
        line = MARKUP_RE.sub("", line).strip()
        checkbox = CHECKBOX_RE.match(line)
        if checkbox:
            line = checkbox.group(2)
        if len(words(line)) >= 1:
            title = " ".join(line.split())
            if len(title) > 80:
                cut = title[:80].rsplit(" ", 1)[0]
                title = cut.rstrip(",.;:") + "…"
            return title.rstrip(".")
    keywords = [w for w, _ in counts.most_common(3)]
    return " ".join(keywords).capitalize() or "Untitled note"


class LocalEnricher:
    name = "local"

    def enrich(self, content: str, *, vocabulary: Sequence[str] = (), language: str = ""):
        text = content.strip()
        tokens = words(text)
        if not tokens:
            raise PermanentEnrichmentError("The note has no words to enrich.")
        language = detect_language(tokens)
        counts = keyword_counts(tokens, STOP_WORDS.get(language, set()))
        title = suggest_title(text, counts)
        sentences = split_sentences(text)
        # A heading that became the title says nothing new in the summary.
        body = [s for s in sentences if s.rstrip(".") != title] or sentences
        summary = summarise(body, counts) or " ".join(text.split())[:300]
        tags = [word for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        enrichment = Enrichment(
            title=title,
            summary=summary,
            tags=tags[:MAX_TAGS],
            action_items=extract_action_items(text),
            language=language,
        )
        return EnrichmentResult(enrichment=enrichment, backend=self.name, model="")


def text_stats(content: str) -> dict:
    count = len(words(content))
    return {
        "word_count": count,
        "reading_time_minutes": max(1, round(count / WORDS_PER_MINUTE)) if count else 0,
    }
