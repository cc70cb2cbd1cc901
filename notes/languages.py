"""Language codes (ISO 639-1, as enrichers record them) and their names."""

from functools import cache

from django.conf.locale import LANG_INFO


@cache
def choices() -> list[tuple[str, str]]:
    """Every two-letter language Django knows, by name."""
    found = [
        (code, info["name"])
        for code, info in LANG_INFO.items()
        if len(code) == 2 and "name" in info
    ]
    return sorted(found, key=lambda pair: pair[1])


def language_name(code: str) -> str:
    """ "English" for "en"; the code itself when unknown; "" for none."""
    code = (code or "").strip().lower()
    info = LANG_INFO.get(code) or LANG_INFO.get(code.split("-")[0]) or {}
    return info.get("name", code)
