"""Stand-in enrichers for the benchmark, selected with ENRICHMENT_BACKEND=<dotted path>.

They return a fixed, schema-valid enrichment, so that what is measured is the pipeline
around the model call (claim, run history, fenced store), not the model.
"""

import os
import time

from enrichment.enrichers import EnrichmentResult
from enrichment.schema import Enrichment

LATENCY_ENV = "BENCH_ENRICHER_LATENCY_MS"

_FIXED = {
    "title": "Benchmark note",
    "summary": "A fixed summary returned by the benchmark enricher.",
    "tags": ["benchmark", "notes"],
    "action_items": ["Read the benchmark report"],
    "language": "en",
}


def latency_seconds() -> float:
    """The stand-in model's latency (BENCH_ENRICHER_LATENCY_MS, default 1000 ms)."""
    return int(os.environ.get(LATENCY_ENV, "1000")) / 1000


class NullEnricher:
    """Zero latency: the cost of everything except the model call."""

    name = "bench-null"

    def enrich(self, content: str, **context) -> EnrichmentResult:
        # Validated like every backend's output: that cost belongs to the pipeline.
        return EnrichmentResult(
            enrichment=Enrichment.model_validate(_FIXED),
            backend=self.name,
            model="none",
            provider_calls=1,
        )


class SleepEnricher(NullEnricher):
    """A model call of fixed latency (BENCH_ENRICHER_LATENCY_MS, default 1000 ms).

    Sleeping releases the CPU like waiting on an HTTP response does, so N workers can
    overlap N calls; that is what the scaling row measures.
    """

    name = "bench-sleep"

    def enrich(self, content: str, **context) -> EnrichmentResult:
        time.sleep(latency_seconds())
        return super().enrich(content, **context)
