"""Enrichers for tests, selected in worker processes with ENRICHMENT_BACKEND=<dotted path>.

Each one counts its calls in Redis (key ``test:enricher-calls``) so that a test can
assert how many times a worker really called the backend. :func:`use_enricher` puts a
function in the pipeline's place, in this process.
"""

import os
import random
import time

import django_rq
import redis
from django.conf import settings

from enrichment import pipeline
from enrichment.enrichers.local import LocalEnricher
from enrichment.errors import PermanentEnrichmentError, TransientEnrichmentError
from notes.models import content_hash

CALLS_KEY = "test:enricher-calls"


def use_enricher(monkeypatch, enrich):
    """The pipeline enriches with ``enrich(content)`` for the rest of the test."""

    class Stub:
        name = "stub"

        def enrich(self, content, **context):
            return enrich(content)

    monkeypatch.setattr(pipeline, "get_enricher", lambda: Stub())


def _count():
    django_rq.get_connection(settings.ENRICHMENT_QUEUE).incr(CALLS_KEY)


class CountingEnricher(LocalEnricher):
    name = "counting"

    def enrich(self, content, **context):
        _count()
        delay = float(os.environ.get("TEST_ENRICH_DELAY", "0"))
        if delay:
            time.sleep(delay)
        return super().enrich(content, **context)


class FailingEnricher(LocalEnricher):
    name = "failing"

    def enrich(self, content, **context):
        _count()
        raise PermanentEnrichmentError("The model refused this note.")


class CrashingEnricher(LocalEnricher):
    name = "crashing"

    def enrich(self, content, **context):
        _count()
        raise RuntimeError("enricher exploded")


class FlakyEnricher(LocalEnricher):
    """Fails transiently on the first call for each note content, then succeeds."""

    name = "flaky"

    def enrich(self, content, **context):
        _count()
        conn = django_rq.get_connection(settings.ENRICHMENT_QUEUE)
        if conn.incr("test:flaky:" + content_hash(content)) == 1:
            raise TransientEnrichmentError("503 from provider", retry_after=0)
        return super().enrich(content, **context)


# --- chaos tests --------------------------------------------------------------------------

# Counters live on a Redis that the chaos tests never stop (the queues use a private one).
COUNTER_URL_ENV = "TEST_COUNTER_REDIS_URL"
CALLS_BY_HASH_KEY = "test:calls-by-hash"
CALLING_KEY = "test:calling:{}"


def counter_connection():
    """Where provider calls are counted: TEST_COUNTER_REDIS_URL, else the queues' Redis."""
    url = os.environ.get(COUNTER_URL_ENV)
    if url:
        return redis.Redis.from_url(url)
    return django_rq.get_connection(settings.ENRICHMENT_QUEUE)


class ChaosEnricher(LocalEnricher):
    """A provider stand-in with knobs, set through the worker's environment.

    TEST_ENRICH_DELAY: seconds each call takes; TEST_FAIL_RATE: the share of calls that
    fail transiently (a 503). Every call is counted per content hash, before it can fail,
    so a test can check that no content version was paid for more often than allowed.
    """

    name = "chaos"

    def enrich(self, content, **context):
        conn = counter_connection()
        with conn.pipeline() as pipe:
            pipe.incr(CALLS_KEY)
            pipe.hincrby(CALLS_BY_HASH_KEY, content_hash(content), 1)
            # Lets a test kill this process exactly while it waits for the "provider".
            pipe.set(CALLING_KEY.format(os.getpid()), content_hash(content), ex=60)
            pipe.execute()
        delay = float(os.environ.get("TEST_ENRICH_DELAY", "0"))
        if delay:
            time.sleep(delay)
        conn.delete(CALLING_KEY.format(os.getpid()))
        if random.random() < float(os.environ.get("TEST_FAIL_RATE", "0")):
            raise TransientEnrichmentError("503 from provider (injected)", retry_after=0)
        return super().enrich(content, **context)
