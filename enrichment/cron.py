"""Periodic jobs, run by RQ's cron scheduler: ``python manage.py rqcron enrichment.cron``.

The scheduler process only enqueues; a worker runs the job. The reaper job goes on the
maintenance queue, which the worker command names first, and lives at most one interval
in the queue: when no worker runs, reaper jobs do not pile up.
"""

from django.conf import settings
from rq import cron

from enrichment.reaper import run_reaper

cron.register(
    run_reaper,
    queue_name=settings.ENRICHMENT_MAINTENANCE_QUEUE,
    interval=settings.ENRICHMENT_REAPER_INTERVAL,
    job_timeout=max(60, settings.ENRICHMENT_REAPER_INTERVAL * 5),
    ttl=settings.ENRICHMENT_REAPER_INTERVAL,
    result_ttl=settings.ENRICHMENT_REAPER_INTERVAL * 10,
    failure_ttl=24 * 3600,
    name="reap_stuck_notes",
)
