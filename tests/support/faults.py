"""A worker class that dies at one precise point, for a chaos test that must hit a window
too narrow for a SIGKILL sent from outside (``rqworker --worker-class ...``)."""

import os
import signal

from enrichment.worker import NoteWorker


class DyingNoteWorker(NoteWorker):
    """SIGKILLs itself right after taking a note's job off the queue, before RQ marks
    the job started: as when a host dies at that moment."""

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        if result is not None and result[0].id.startswith("note-"):
            os.kill(os.getpid(), signal.SIGKILL)
        return result
