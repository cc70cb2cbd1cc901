"""RQ jobs. Thin on purpose: ids in, the pipeline does the work."""

from django.db import close_old_connections
from rq import get_current_job

from . import pipeline


def process_note_job(note_id: int) -> str:
    """Enrich one note. Enqueued by :mod:`enrichment.queue` on ``note_enrichment``."""
    job = get_current_job()
    # Long-lived workers: never start or finish a job on a connection the database has
    # already closed (restart, idle timeout).
    close_old_connections()
    try:
        return pipeline.run(note_id, job.id if job else None)
    finally:
        close_old_connections()
