"""The RQ worker class notesite runs (``RQ["WORKER_CLASS"]``).

RQ's default Worker forks a work horse for every job, which isolates jobs from each other
(a leak or a crash dies with the horse). But whatever a horse computes dies with it too,
and with a plain Worker every job paid again for work that never changes: importing the
pipeline, pydantic's schema and the enricher's client library; looking up PostgreSQL type
ids for django.contrib.postgres; reading redis-py's version from the installed package
metadata for each new Redis connection. That cost several times the job itself (see
docs/performance.md). This worker does it once, in the parent, before the first fork, so
that every horse inherits it ready to use.
"""

import functools
import logging

import redis.utils
from django.db import connections
from rq.worker import SimpleWorker, Worker

logger = logging.getLogger(__name__)


def preload() -> None:
    """Warm, in the worker's parent process, what every job would otherwise redo."""
    from enrichment import jobs  # noqa: F401  (imported for its side effect)
    from enrichment.enrichers import get_enricher

    try:
        # Instantiating resolves and imports the backend module (e.g. the openai client).
        get_enricher()
    except Exception:  # a misconfigured backend must fail the job, not the worker start
        logger.exception("Could not preload the enricher; jobs will report the error")

    # redis-py resolves its own version from the package metadata (a scan of
    # site-packages, ~10 ms) for every new connection, and each horse makes a new one.
    if not hasattr(redis.utils.get_lib_version, "cache_info"):
        redis.utils.get_lib_version = functools.cache(redis.utils.get_lib_version)
    redis.utils.get_lib_version()

    # One connection fills process-wide caches that horses inherit: contrib.postgres' type
    # ids, and the ORM's lazily built model metadata and query machinery (a third of the
    # Python work of a job done cold). It is closed at once: a socket must never be
    # shared across a fork.
    try:
        _rehearse_queries()
    except Exception:  # the database may be down at start; jobs will retry it
        logger.warning("Database unreachable while preloading the worker", exc_info=True)
    finally:
        for connection in connections.all(initialized_only=True):
            connection.close()


def _rehearse_queries() -> None:
    """Run the pipeline's statement shapes against a note id that never exists (ids
    start at 1), so nothing is changed."""
    import uuid

    from django.db.models import F
    from django.utils import timezone

    from notes.models import Note
    from notes.services import transition
    from notes.status import ProcessingStatus as S

    from .models import EnrichmentRun

    token = uuid.uuid4()
    transition(
        0,
        S.PROCESSING,
        source=S.QUEUED,
        match={"job_id": ""},
        processing_token=token,
        attempts=F("attempts") + 1,
        retry_at=None,
    )
    Note.objects.filter(pk=0, processing_token=token).values("content").first()
    transition(0, S.COMPLETED, source=S.PROCESSING, token=token, processing_token=None)
    EnrichmentRun.objects.filter(pk=0).update(finished_at=timezone.now())


class EnrichmentWorker(Worker):
    """The forking worker, with the job's code loaded before the first fork."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        preload()


class EnrichmentSimpleWorker(SimpleWorker):
    """The non-forking worker (jobs run in the worker process itself), preloaded alike."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        preload()
