"""Real worker processes for the benchmark, their memory, and timing of the jobs they ran."""

import contextlib
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


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    return _status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory a process has had so far (VmHWM)."""
    return _status_kb(pid, "VmHWM") / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size: resident memory with every page shared by k processes
    counted 1/k. Summed over processes it is what they really cost the host."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no Pss for process {pid}")


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            return [int(part) for part in found.read().split()]
    except FileNotFoundError:
        return []


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def queue_names() -> list[str]:
    """Every queue a deployed worker serves, most urgent first."""
    names = [settings.ENRICHMENT_QUEUE, settings.ENRICHMENT_BULK_QUEUE]
    maintenance = getattr(settings, "ENRICHMENT_MAINTENANCE_QUEUE", None)
    return [maintenance, *names] if maintenance else names


def worker_command(*flags) -> list[str]:
    """``manage.py rqworker`` on every queue, as deployed (also used by the tests)."""
    return [sys.executable, "manage.py", "rqworker", *flags, *queue_names()]


def pool_command(count: int, *flags) -> list[str]:
    """django-rq's ``rqworker-pool``: ``count`` workers forked from one parent process
    that has loaded Django once, so they share its memory pages."""
    return [
        sys.executable,
        "manage.py",
        "rqworker-pool",
        "--num-workers",
        str(count),
        *flags,
        *queue_names(),
    ]


class WorkerPool:
    """N long-running workers on the note queues, started and registered before any job
    is enqueued, so that start-up time and start-up skew never count as job time.

    ``forked=True`` (the default) runs them as one ``rqworker-pool``; otherwise each is a
    separate ``rqworker`` process, as a host that starts N services would.
    """

    def __init__(self, count: int, *, worker_class: str | None = None, forked: bool = True, **env):
        self.count = count
        self.worker_class = worker_class
        self.forked = forked
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notesite.settings"}
        self.env.update({k: str(v) for k, v in env.items()})
        self.processes: list[subprocess.Popen] = []
        self.logdir = tempfile.mkdtemp(prefix="notesite-bench-")

    def commands(self) -> list[list[str]]:
        flags = ["--worker-class", self.worker_class] if self.worker_class else []
        if self.forked:
            return [pool_command(self.count, *flags)]
        return [worker_command(*flags) for _ in range(self.count)]

    def __enter__(self):
        connection = Queue(settings.ENRICHMENT_QUEUE, connection=_connection()).connection
        before = Worker.count(connection=connection)
        for index, command in enumerate(self.commands()):
            log = open(Path(self.logdir) / f"worker-{index}.log", "w")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
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
                process.wait(30)
            except subprocess.TimeoutExpired:
                for pid in descendants(process.pid):
                    _kill(pid)
                process.kill()
                process.wait()

    @property
    def pids(self) -> list[int]:
        """The processes started (one pool parent, or the separate workers)."""
        return [p.pid for p in self.processes]

    def all_pids(self) -> list[int]:
        """Every process of the pool: parents, their workers, and any work horse."""
        return [pid for top in self.pids for pid in (top, *descendants(top))]

    def memory(self) -> list[tuple[int, float, float]]:
        """(pid, PSS MB, peak RSS MB) of every live process of the pool."""
        rows = []
        for pid in self.all_pids():
            try:
                rows.append((pid, pss_mb(pid), peak_rss_mb(pid)))
            except (FileNotFoundError, ProcessLookupError, RuntimeError):
                continue  # a work horse that ended meanwhile
        return rows


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _connection():
    import django_rq

    return django_rq.get_connection(settings.ENRICHMENT_QUEUE)


def wait_for_jobs(job_ids: list[str], *, timeout: float) -> list[Job]:
    """Wait until every job has finished (or failed); return them, raising if any failed.

    Reads the jobs through RQ's public API only (``Job.fetch_many``, ``get_status``)."""
    connection = _connection()
    deadline = time.monotonic() + timeout
    pending = list(job_ids)
    done = ("finished", "failed")
    while pending:
        # Poll the last job only, so that polling does not load the Redis the workers
        # use; check every job once that one is done.
        (last,) = Job.fetch_many(pending[-1:], connection=connection)
        if last is not None and last.get_status(refresh=False) in done:
            jobs = Job.fetch_many(pending, connection=connection)
            pending = [
                job_id
                for job_id, job in zip(pending, jobs, strict=True)
                if job is None or job.get_status(refresh=False) not in done
            ]
            if not pending:
                break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(pending)} of {len(job_ids)} jobs not done after {timeout:.0f} s"
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
