"""The enrichment schema, defined once: every backend's output is validated against it."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SCHEMA_VERSION = 1

MAX_TAG_CHARS = 40
MAX_ITEM_CHARS = 500
# Every string and list carries its bound, so the JSON schema generated from this model
# bounds a grammar-constrained reply everywhere; longer tags and items are trimmed before
# validation rather than rejected.
Tag = Annotated[str, StringConstraints(max_length=MAX_TAG_CHARS)]
ActionItem = Annotated[str, StringConstraints(max_length=MAX_ITEM_CHARS)]


class Enrichment(BaseModel):
    """What an enricher produces for one note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200, description="A short, specific title.")
    summary: str = Field(min_length=1, max_length=2000, description="Two or three sentences.")
    tags: list[Tag] = Field(max_length=8, description="Up to 8 lowercase keywords.")
    action_items: list[ActionItem] = Field(max_length=50, description="Things to do, one per item.")
    language: str = Field(min_length=2, max_length=12, description="ISO 639-1 code, e.g. 'en'.")

    @field_validator("title", mode="before")
    @classmethod
    def _trim_title(cls, title):
        # An over-long title is cut at a word, not a reason to throw the whole result away.
        if isinstance(title, str) and len(title.strip()) > 200:
            cut = title.strip()[:199]
            return (cut.rsplit(" ", 1)[0] if " " in cut[100:] else cut).rstrip() + "…"
        return title

    @field_validator("tags", mode="before")
    @classmethod
    def _normalise_tags(cls, tags):
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return tags  # the type check reports it
        seen, out = set(), []
        for tag in tags:
            tag = " ".join(tag.strip().lower().lstrip("#").split())[:MAX_TAG_CHARS]
            if tag and tag not in seen:
                seen.add(tag)
                out.append(tag)
        return out

    @field_validator("action_items", mode="before")
    @classmethod
    def _clean_items(cls, items):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return items  # the type check reports it
        return [item.strip()[:MAX_ITEM_CHARS] for item in items if item.strip()]


def stored_form(enrichment: Enrichment, *, backend: str, model: str = "", **extra) -> dict:
    """The JSON stored on the note: the enrichment plus where it came from."""
    data = enrichment.model_dump()
    data.update(
        {
            "schema_version": SCHEMA_VERSION,
            "backend": backend,
            "model": model,
        }
    )
    data.update(extra)
    return data
