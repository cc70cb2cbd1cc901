"""Language identification: py3langid's model (shipped in its wheel) plus script rules.

Scripts decide what a character model confuses on short text: kana means Japanese,
Hangul Korean, Han without kana Chinese. Everything else goes to py3langid, restricted
to languages people write notes in, and a guess below ``MIN_CONFIDENCE`` or on too little
text is "und" (undetermined) rather than a wrong label.
"""

import functools
import re

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.6
MIN_SHARE = 0.6
MIN_SENTENCE_LETTERS = 20
MAX_JUDGED_SENTENCES = 12
MIN_LETTERS = 12
MIN_CJK = 4
LANGUAGES = (
    "en de fr es it pt nl ru uk pl ar ca cs da el fa fi he hi hu id no ro sk sv tr vi"
).split()

KANA_RE = re.compile(r"[\u3040-\u30ff]")
HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
HAN_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
LETTER_RE = re.compile(r"[^\W\d_]")


@functools.cache
def _identifier():
    """The model, decompressed once per process (about a second, ~80 MB with numpy)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(
        MODEL_FILE, norm_probs=True, min_confidence=MIN_CONFIDENCE
    )
    identifier.set_languages([code for code in LANGUAGES if code in identifier.labels])
    return identifier


SAMPLE_CHARS = 3000


def load_model() -> None:
    _identifier()


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text`` (plain text, markup removed), or "und".

    A long note is judged on its first few thousand characters: more text does not
    change the answer, only the time.
    """
    text = text[:SAMPLE_CHARS]
    letters = len(LETTER_RE.findall(text))
    kana, hangul, han = (len(r.findall(text)) for r in (KANA_RE, HANGUL_RE, HAN_RE))
    cjk = kana + hangul + han
    if cjk >= MIN_CJK and cjk >= letters * 0.5:
        if kana >= max(1, cjk * 0.1):
            return "ja"
        if hangul > han:
            return "ko"
        return "zh"
    if cjk >= MIN_CJK or letters < MIN_LETTERS or len(text.split()) < 3:
        return UNDETERMINED  # too little text, or CJK mixed with a lot of other script
    code, _confidence = _identifier().classify(text)
    if code != UNDETERMINED and _mixed(text):
        return UNDETERMINED
    return code


def _mixed(text: str) -> bool:
    """True when no language holds ``MIN_SHARE`` of the sentences, by letters."""
    weights: dict[str, int] = {}
    judged = 0
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        letters = len(LETTER_RE.findall(sentence))
        if letters >= MIN_SENTENCE_LETTERS and judged < MAX_JUDGED_SENTENCES:
            judged += 1
            code, _ = _identifier().classify(sentence)
            if code != UNDETERMINED:
                weights[code] = weights.get(code, 0) + letters
    total = sum(weights.values())
    return len(weights) > 1 and max(weights.values()) < MIN_SHARE * total
