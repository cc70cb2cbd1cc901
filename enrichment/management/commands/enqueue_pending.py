from .reap_stuck_notes import Command as ReapCommand


class Command(ReapCommand):
    """The reaper under the name operators know for "deliver what is stuck in QUEUED"."""

    help = (
        "Deliver every QUEUED note that no job will pick up (after Redis was unreachable, "
        "restarted without persistence, or a job expired). The reaper's run: it also "
        "queues again PROCESSING notes whose worker was lost."
    )
