"""The raw RQ baselines, run by the same worker class as the notes."""

import time

from .enrichers import latency_seconds


def noop(note_id: int) -> None:
    """Takes the same argument as the enrichment job and does nothing with it."""
    return None


def sleep(note_id: int) -> None:
    """Waits as long as the scaling row's model call, and does nothing else: what RQ
    alone achieves with N workers on this machine."""
    time.sleep(latency_seconds())
