"""The raw RQ baseline: a job that does nothing, run by the same worker class."""


def noop(note_id: int) -> None:
    """Takes the same argument as the enrichment job and does nothing with it."""
    return None
