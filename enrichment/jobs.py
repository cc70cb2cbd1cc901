"""RQ jobs. Thin on purpose: ids in, the pipeline does the work."""

from django.db import close_old_connections
from rq import get_current_job

from . import pipeline


def process_note_job(note_id: int) -> str:
    """Enrich one note. Enqueued by :mod:`enrichment.queue` on ``note_enrichment``."""
    job = get_current_job()
    # Long-lived workers: never start a job on a connection the database has already
    # closed (restart, idle timeout) or that has outlived CONN_MAX_AGE. Checking at the
    # start is enough: a connection that dies during the job is replaced by the pipeline
    # (its writes reconnect once), and one that dies while the worker waits is caught by
    # the next job's check.
    close_old_connections()
    return pipeline.run(note_id, job.id if job else None)
