"""Tag normalisation: one function decides when two tags are the same tag."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise_tag(tag: str) -> str:
    """Lowercase, no diacritics, one space for any run of hyphens/underscores/spaces,
    and the simple English plural folded ("Meeting-Notes" -> "meeting note")."""
    decomposed = unicodedata.normalize("NFKD", tag.strip().lower().lstrip("#"))
    plain = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    words = _SEPARATORS.sub(" ", plain).strip().split()
    return " ".join(_singular(word) for word in words)


def _singular(word: str) -> str:
    if not word.isascii() or len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word
