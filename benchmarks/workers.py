"""Real ``rqworker`` processes for the benchmark, and timing of the jobs they ran."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from rq import Queue, Worker
from rq.job import Job

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def worker_command(*flags) -> list[str]:
    """``manage.py rqworker`` on every queue, as deployed (also used by the tests)."""
    return [
        sys.executable,
        "manage.py",
        "rqworker",
        *flags,
        settings.ENRICHMENT_MAINTENANCE_QUEUE,
        settings.ENRICHMENT_QUEUE,
        settings.ENRICHMENT_BULK_QUEUE,
    ]


class WorkerPool:
    """N long-running workers on the enrichment queues, started and registered before any
    job is enqueued, so that start-up time and start-up skew never count as job time."""

    def __init__(self, count: int, *, worker_class: str | None = None, **env):
        self.count = count
        self.worker_class = worker_class
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notesite.settings"}
        self.env.update({k: str(v) for k, v in env.items()})
        self.processes: list[subprocess.Popen] = []
        self.logdir = tempfile.mkdtemp(prefix="notesite-bench-")

    def command(self) -> list[str]:
        return worker_command(*(["--worker-class", self.worker_class] if self.worker_class else []))

    def __enter__(self):
        connection = Queue(settings.ENRICHMENT_QUEUE, connection=_connection()).connection
        before = Worker.count(connection=connection)
        for index in range(self.count):
            log = open(Path(self.logdir) / f"worker-{index}.log", "w")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
            )
            log.close()
        deadline = time.monotonic() + 60 + 10 * self.count
        while Worker.count(connection=connection) < before + self.count:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a benchmark worker exited early; logs in {self.logdir}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"benchmark workers did not start; logs in {self.logdir}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # warm shutdown
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]


def _connection():
    import django_rq

    return django_rq.get_connection(settings.ENRICHMENT_QUEUE)


def wait_for_jobs(job_ids: list[str], *, timeout: float) -> list[Job]:
    """Wait until every job has finished (or failed); return them, raising if any failed."""
    connection = _connection()
    queue = Queue(settings.ENRICHMENT_QUEUE, connection=connection)
    bulk = Queue(settings.ENRICHMENT_BULK_QUEUE, connection=connection)
    deadline = time.monotonic() + timeout
    pending = list(job_ids)
    done = (b"finished", b"failed")
    while pending:
        # Poll the last job only, so that polling does not load the Redis the workers
        # use; check every job once that one is done.
        if connection.hget(Job.key_for(pending[-1]), "status") in done:
            with connection.pipeline(transaction=False) as pipe:
                for job_id in pending:
                    pipe.hget(Job.key_for(job_id), "status")
                statuses = pipe.execute()
            pending = [
                job_id
                for job_id, status in zip(pending, statuses, strict=True)
                if status not in done
            ]
            if not pending:
                break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(pending)} of {len(job_ids)} jobs not done after {timeout:.0f} s "
                f"(queued: {queue.count} + {bulk.count})"
            )
        time.sleep(0.05)
    jobs = [job for job in Job.fetch_many(job_ids, connection=connection) if job is not None]
    failed = [job.id for job in jobs if job.get_status(refresh=False) == "failed"]
    if failed or len(jobs) != len(job_ids):
        raise RuntimeError(f"{len(failed)} benchmark jobs failed, e.g. {failed[:3]}")
    return jobs


def throughput(jobs: list[Job]) -> tuple[float, float]:
    """(jobs per second, seconds) from the first job's start to the last job's end."""
    start = min(job.started_at for job in jobs)
    end = max(job.ended_at for job in jobs)
    seconds = max((end - start).total_seconds(), 1e-6)
    return len(jobs) / seconds, seconds
