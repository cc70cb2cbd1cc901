"""RQ jobs. Thin on purpose: ids in, a service does the work."""

from django.db import close_old_connections
from rq import get_current_job

from notes import services

from . import pipeline


def process_note_job(note_id: int) -> str:
    """Enrich one note. Enqueued by :mod:`notes.delivery`."""
    job = get_current_job()
    # The worker keeps its database connection from job to job: one that the database
    # closed, or that outlived CONN_MAX_AGE, is replaced before and after.
    close_old_connections()
    try:
        return pipeline.run(note_id, job.id if job else None)
    finally:
        close_old_connections()


def feed_job() -> str:
    """The last job of each batch on the bulk queue: deliver the next batch."""
    close_old_connections()
    try:
        return f"fed {services.feed(force=True)} note(s)"
    finally:
        close_old_connections()


def reprocess_job(query, ignore_cache: bool = False) -> str:
    """A bulk reprocess handed over by the admin: queue the selection's finished notes."""
    close_old_connections()
    try:
        queued = services.reprocess_query(query, ignore_cache=ignore_cache)
        return f"{queued} note(s) queued for reprocessing"
    finally:
        close_old_connections()
