"""The raw RQ baselines, run by the same worker class as the notes."""


def noop(note_id: int) -> None:
    """Takes the same argument as the enrichment job and does nothing with it."""
    return None


def sleep(note_id: int) -> None:
    """Waits like the scaling row's model call (BENCH_ENRICHER_LATENCY_MS), and does
    nothing else: what RQ alone achieves with N workers on this machine."""
    import os
    import time

    time.sleep(int(os.environ.get("BENCH_ENRICHER_LATENCY_MS", "200")) / 1000)
