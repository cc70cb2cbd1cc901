"""Enrichers: note content in, validated :class:`~enrichment.schema.Enrichment` out.

The backend is chosen by ``ENRICHMENT_BACKEND``. An enricher raises the errors of
:mod:`enrichment.errors` so that the pipeline can apply the right policy.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from enrichment.schema import Enrichment

BACKENDS = {
    "local": "enrichment.enrichers.local.LocalEnricher",
    "openai": "enrichment.enrichers.openai.OpenAIEnricher",
}


@dataclass
class EnrichmentResult:
    enrichment: Enrichment | None
    backend: str
    model: str = ""
    prompt_version: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    provider_calls: int = 0


class Enricher(Protocol):
    name: str

    def enrich(
        self, content: str, *, vocabulary: Sequence[str] = (), language: str = ""
    ) -> EnrichmentResult:
        """``vocabulary``: the owner's tags, most used first, to prefer over new ones;
        ``language``: the ISO 639-1 code of every generated field ("" = the note's own)."""
        ...


def get_enricher(backend: str | None = None) -> Enricher:
    name = backend or settings.ENRICHMENT_BACKEND
    return import_string(BACKENDS.get(name, name))()
