"""Enrichers for tests, selected in worker processes with ENRICHMENT_BACKEND=<dotted path>.

Each one counts its calls in Redis (key ``test:enricher-calls``) so that a test can
assert how many times a worker really called the backend.
"""

import os
import time

import django_rq
from django.conf import settings

from enrichment.enrichers.local import LocalEnricher
from enrichment.errors import PermanentEnrichmentError, TransientEnrichmentError
from notes.models import content_hash

CALLS_KEY = "test:enricher-calls"


def _count():
    django_rq.get_connection(settings.ENRICHMENT_QUEUE).incr(CALLS_KEY)


class CountingEnricher(LocalEnricher):
    name = "counting"

    def enrich(self, content):
        _count()
        delay = float(os.environ.get("TEST_ENRICH_DELAY", "0"))
        if delay:
            time.sleep(delay)
        return super().enrich(content)


class FailingEnricher(LocalEnricher):
    name = "failing"

    def enrich(self, content):
        _count()
        raise PermanentEnrichmentError("The model refused this note.")


class CrashingEnricher(LocalEnricher):
    name = "crashing"

    def enrich(self, content):
        _count()
        raise RuntimeError("enricher exploded")


class FlakyEnricher(LocalEnricher):
    """Fails transiently on the first call for each note content, then succeeds."""

    name = "flaky"

    def enrich(self, content):
        _count()
        conn = django_rq.get_connection(settings.ENRICHMENT_QUEUE)
        if conn.incr("test:flaky:" + content_hash(content)) == 1:
            raise TransientEnrichmentError("503 from provider", retry_after=0)
        return super().enrich(content)
