"""The measurements. Each section returns rows: what was measured, the target, the verdict.

Runs inside the bench stores only (see :mod:`benchmarks.environment`); the command checks
that before calling anything here.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import django_rq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse

from enrichment import pipeline
from notes import delivery
from notes.models import Note
from notes.status import ProcessingStatus

from . import data
from .workers import ROOT, WorkerPool, rss_mb, throughput, wait_for_jobs

NULL_BACKEND = "benchmarks.enrichers.NullEnricher"
SLEEP_BACKEND = "benchmarks.enrichers.SleepEnricher"


@dataclass
class Config:
    notes: int
    jobs: int
    memory_jobs: int
    memory_warmup: int
    latency_ms: int
    workers: list[int]
    jobs_per_worker: int
    repeats: int
    worker_class: str | None = None


@dataclass
class Row:
    section: str
    name: str
    measured: str
    target: str = ""
    ok: bool | None = None  # None: for information, or not built yet
    figures: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: ""}[self.ok]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def flush_redis() -> None:
    """Empty the bench Redis db (the command has checked that it is the bench db)."""
    django_rq.get_connection(settings.ENRICHMENT_QUEUE).flushdb()


def _job_timeout(count: int, per_job: float) -> float:
    return 60 + count * per_job


# --- Overhead ---------------------------------------------------------------


def pipeline_queries_per_note(owner) -> int:
    """SQL statements one successful attempt runs (claim, run history, fenced store)."""
    from django.test.utils import override_settings

    ((note_id, job_id),) = data.queued_notes(1, owner)
    with override_settings(ENRICHMENT_BACKEND=NULL_BACKEND), CaptureQueriesContext(connection) as q:
        outcome = pipeline.run(note_id, job_id)
    if outcome != "completed":
        raise RuntimeError(f"the pipeline did not complete a benchmark note: {outcome}")
    return len(q.captured_queries)


def overhead_and_memory(cfg: Config, owner, *, memory: bool = True) -> list[Row]:
    """Notes per second through the whole pipeline vs raw RQ no-op jobs, on the same
    worker process; and that process's resident memory after a few jobs and after many.

    One worker serves both rows, so the jobs of the overhead row count towards the
    memory row's total instead of being run twice.
    """
    rounds = 4 if cfg.jobs >= 400 else 2
    per_round = max(cfg.jobs // rounds, 1)
    spent = {"raw": [0, 0.0], "pipeline": [0, 0.0]}
    done = 0
    with WorkerPool(1, worker_class=cfg.worker_class, ENRICHMENT_BACKEND=NULL_BACKEND) as pool:
        (pid,) = pool.pids
        # Warm up both paths (imports, first connections) before anything is timed.
        wait_for_jobs(data.enqueue_noop_jobs(10), timeout=60)
        warmup = max(cfg.memory_warmup - 10, 1) if memory else 10
        ids = data.enqueue_pipeline_jobs(data.queued_notes(warmup, owner))
        wait_for_jobs(ids, timeout=_job_timeout(warmup, 0.5))
        done += 10 + warmup
        first_rss = rss_mb(pid)
        # Interleaved rounds, so that a noisy neighbour or a drifting CPU hurts both
        # sides alike.
        for _ in range(rounds):
            for kind in ("raw", "pipeline"):
                if kind == "raw":
                    ids = data.enqueue_noop_jobs(per_round)
                else:
                    ids = data.enqueue_pipeline_jobs(data.queued_notes(per_round, owner))
                jobs = wait_for_jobs(ids, timeout=_job_timeout(per_round, 0.5))
                _, seconds = throughput(jobs)
                spent[kind][0] += len(jobs)
                spent[kind][1] += seconds
                done += len(jobs)
        rest = cfg.memory_jobs - done if memory else 0
        if rest > 0:
            ids = data.enqueue_pipeline_jobs(data.queued_notes(rest, owner))
            wait_for_jobs(ids, timeout=_job_timeout(rest, 0.5))
            done += rest
        last_rss = rss_mb(pid)
    raw = spent["raw"][0] / spent["raw"][1]
    ours = spent["pipeline"][0] / spent["pipeline"][1]
    ratio = raw / ours
    queries = pipeline_queries_per_note(owner)
    log(f"overhead: pipeline {ours:.1f}/s, raw RQ {raw:.1f}/s, {queries} SQL per note")
    jobs = spent["raw"][0]
    rows = [
        Row(
            "overhead",
            f"pipeline vs raw RQ ({jobs} jobs each, 1 worker)",
            f"{ours:.0f} vs {raw:.0f} jobs/s = {ratio:.2f}x "
            f"(+{1000 / ours - 1000 / raw:.1f} ms per note)",
            "<= 1.5x",
            ratio <= 1.5,
            {"pipeline_per_s": ours, "raw_per_s": raw, "ratio": ratio, "jobs": jobs},
        ),
        Row(
            "overhead",
            "SQL statements per enriched note",
            f"{queries}",
            figures={"queries": queries},
        ),
    ]
    if memory:
        growth = (last_rss - first_rss) / first_rss
        log(f"memory: {first_rss:.1f} MB -> {last_rss:.1f} MB after {done} jobs")
        rows.append(
            Row(
                "memory",
                f"worker RSS after {cfg.memory_warmup} and {done} jobs",
                f"{first_rss:.1f} MB -> {last_rss:.1f} MB ({growth:+.1%})",
                "growth < 10%",
                growth < 0.10,
                {"first_mb": first_rss, "last_mb": last_rss, "growth": growth, "jobs": done},
            )
        )
    return rows


# --- Scaling ----------------------------------------------------------------


def scaling(cfg: Config, owner) -> list[Row]:
    """Throughput with N workers when each model call takes ``latency_ms``."""
    rows = []
    latency = cfg.latency_ms / 1000
    largest = max(cfg.workers)
    for count in cfg.workers:
        with WorkerPool(
            count,
            worker_class=cfg.worker_class,
            ENRICHMENT_BACKEND=SLEEP_BACKEND,
            BENCH_ENRICHER_LATENCY_MS=cfg.latency_ms,
        ):
            total = count * cfg.jobs_per_worker
            # RQ alone first: jobs that only wait as long, on the same workers.
            raw_ids = data.enqueue_noop_jobs(total, func="benchmarks.jobs.sleep")
            raw_jobs = wait_for_jobs(raw_ids, timeout=_job_timeout(total, latency + 0.5))
            ids = data.enqueue_pipeline_jobs(data.queued_notes(total, owner))
            jobs = wait_for_jobs(ids, timeout=_job_timeout(total, latency + 0.5))
        rate, seconds = throughput(jobs)
        raw_rate, _ = throughput(raw_jobs)
        ideal = count / latency
        efficiency = rate / ideal
        raw_efficiency = raw_rate / ideal
        log(f"scaling: {count} worker(s) {rate:.2f}/s of {ideal:.2f}/s ideal")
        rows.append(
            Row(
                "scaling",
                f"{count} worker(s), {cfg.latency_ms} ms per call, {total} jobs",
                f"{rate:.2f} of {ideal:.2f} jobs/s ideal = {efficiency:.0%} "
                f"(raw RQ waiting jobs: {raw_efficiency:.0%})",
                ">= 90%" if count == largest else "",
                efficiency >= 0.9 if count == largest else None,
                {
                    "workers": count,
                    "per_s": rate,
                    "ideal_per_s": ideal,
                    "efficiency": efficiency,
                    "raw_efficiency": raw_efficiency,
                },
            )
        )
    return rows


# --- Pages ------------------------------------------------------------------


def page_paths(main_user) -> list[tuple[str, str, float]]:
    detail = Note.objects.filter(owner=main_user).order_by("-pk").values_list("pk", flat=True)[:1]
    detail_id = detail[0] if detail else 0
    return [
        ("note list", "/notes/", 50),
        ("search", f"/notes/?q={data.SEARCH_WORD}", 50),
        ("detail", f"/notes/{detail_id}/", 50),
        ("admin changelist", reverse("admin:notes_note_changelist"), 50),
        ("health view", "/health/", 100),
    ]


def _is_built(path: str) -> bool:
    try:
        resolve(urlsplit(path).path)
    except Resolver404:
        return False
    return True


@contextmanager
def count_statements():
    """Every SQL statement run meanwhile, in any thread (the health view runs its checks
    in a thread pool, on connections of its own).

    Not CaptureQueriesContext: it sees only this thread's connection, and the test
    client's request_started signal resets that connection's query log anyway.
    """
    statements: list[str] = []
    original = CursorWrapper._execute_with_wrappers

    def counted(self, sql, params, many, executor):
        statements.append(sql)
        return original(self, sql, params, many, executor)

    CursorWrapper._execute_with_wrappers = counted
    try:
        yield statements
    finally:
        CursorWrapper._execute_with_wrappers = original


def measure_page(client: Client, path: str, repeats: int) -> dict:
    """Status, SQL count (of one request), and median / p95 time of ``repeats`` more."""
    with count_statements() as statements:
        response = client.get(path)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "status": response.status_code,
        "queries": len(statements),
        "median_ms": statistics.median(times),
        "p95_ms": p95,
    }


def pages(cfg: Config, main_user, others, sizes: list[int]) -> list[Row]:
    """Each page at each data size; rows for the largest, with the SQL counts of all."""
    client = Client()
    client.force_login(main_user)
    by_page: dict[str, list[tuple[int, dict]]] = {}
    for size in sizes:
        added = data.seed_completed(size, main_user=main_user, others=others)
        log(f"pages: {size} notes ({added} added)")
        for name, path, _ in page_paths(main_user):
            if _is_built(path):
                by_page.setdefault(name, []).append((size, measure_page(client, path, cfg.repeats)))
    rows = []
    for name, path, target in page_paths(main_user):
        results = by_page.get(name)
        label = f"{name} ({path}), {sizes[-1]} notes"
        if not results:
            rows.append(Row("pages", label, "n/a (not built)"))
            continue
        last = results[-1][1]
        counts = [r["queries"] for _, r in results]
        ok_status = all(
            r["status"] in (200, 503 if name == "health view" else 200) for _, r in results
        )
        trail = ", ".join(f"{r['median_ms']:.0f} ms @{size}" for size, r in results)
        rows.append(
            Row(
                "pages",
                label,
                f"median {last['median_ms']:.1f} ms, p95 {last['p95_ms']:.1f} ms, "
                f"{last['queries']} SQL (SQL by size: {'/'.join(map(str, counts))}; {trail})"
                + ("" if ok_status else f" HTTP {last['status']}"),
                f"median < {target} ms, constant SQL",
                ok_status and last["median_ms"] < target and len(set(counts)) == 1,
                {"by_size": {str(size): r for size, r in results}},
            )
        )
    return rows


# --- Bulk -------------------------------------------------------------------


def bulk(cfg: Config) -> list[Row]:
    """Requeue every note through the admin action, then through the command."""
    total = Note.objects.count()
    rows = []
    paths = [("admin action", "bulk-admin")]
    if "reprocess_notes" in get_commands():
        paths.append(("reprocess_notes --all", "bulk-command"))
    else:
        rows.append(Row("bulk", f"reprocess_notes --all, {total} notes", "n/a (not built)"))
    for label, step in paths:
        flush_redis()
        Note.objects.update(processing_status=ProcessingStatus.COMPLETED, job_id="")
        result = run_step(step)
        # Database first: the notes are marked QUEUED; the feeder delivers them later.
        delivered = Note.objects.filter(processing_status=ProcessingStatus.QUEUED).count()
        log(f"bulk {label}: {result}")
        ok = (
            result["seconds"] < 15
            and result["peak_rss_mb"] < 300
            and delivered == total
            and result["queued"] == total
        )
        rows.append(
            Row(
                "bulk",
                f"requeue {total} notes: {label}",
                f"{result['seconds']:.1f} s (enqueue {result['enqueue_seconds']:.1f} s), "
                f"peak RSS {result['peak_rss_mb']:.0f} MB (+{result['growth_mb']:.0f}), "
                f"{delivered} notes queued",
                "< 15 s, < 300 MB, all queued",
                ok,
                {**result, "delivered": delivered},
            )
        )
    flush_redis()
    Note.objects.update(processing_status=ProcessingStatus.COMPLETED, job_id="")
    return rows


def run_step(step: str) -> dict:
    """Run one measured step in a fresh process, so that its peak memory is its own."""
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench", "--step", step],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench step {step} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def step(name: str) -> dict:
    """Body of a measured step (runs in its own process, see :func:`run_step`)."""
    baseline = rss_mb(os.getpid())
    enqueue = {"seconds": 0.0, "jobs": 0}
    original = delivery.dispatch_many

    def timed_dispatch_many(pairs, **kwargs):
        # Wraps the real enqueue to split the total time into database and Redis work.
        start = time.perf_counter()
        count = original(pairs, **kwargs)
        enqueue["seconds"] += time.perf_counter() - start
        enqueue["jobs"] += count
        return count

    delivery.dispatch_many = timed_dispatch_many
    start = time.perf_counter()
    if name == "bulk-admin":
        client = Client()
        client.force_login(get_user_model().objects.get(username=data.BENCH_USER))
        response = client.post(
            reverse("admin:notes_note_changelist"),
            {
                "action": "reprocess_selected",
                "select_across": "1",
                "index": "0",
                "_selected_action": [Note.objects.values_list("pk", flat=True).first()],
            },
        )
        if response.status_code != 302:
            raise RuntimeError(f"the admin action answered HTTP {response.status_code}")
    elif name == "bulk-command":
        with open(os.devnull, "w") as devnull:
            call_command("reprocess_notes", "--all", "--no-progress", stdout=devnull)
    else:
        raise ValueError(name)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "seconds": seconds,
        "enqueue_seconds": enqueue["seconds"],
        "enqueued": enqueue["jobs"],
        "queued": Note.objects.filter(processing_status=ProcessingStatus.QUEUED).count(),
        "peak_rss_mb": peak,
        "growth_mb": peak - baseline,
    }


# --- The table --------------------------------------------------------------


def render(rows: list[Row], header: list[str]) -> str:
    table = [("section", "measurement", "measured", "target", "result")]
    table += [(r.section, r.name, r.measured, r.target, r.verdict) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    lines = [*header, ""]
    for index, line in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    failed = sum(1 for r in rows if r.ok is False)
    passed = sum(1 for r in rows if r.ok)
    lines += [
        "",
        f"targets: {passed} met, {failed} missed, {len(rows) - passed - failed} for information",
    ]
    return "\n".join(lines)


def wake_up_penalty(idle: float = 0.2, tries: int = 5) -> tuple[float, float]:
    """Median milliseconds of a small CPU task when the process is busy, and right after
    it slept ``idle`` seconds. Some virtual machines run a vCPU slowly for a while after
    it idled; every job of the scaling row starts its bookkeeping in that state."""
    work = list(range(200_000))

    def task() -> float:
        start = time.perf_counter()
        sum(work[::10])
        return (time.perf_counter() - start) * 1000

    warm, woken = [], []
    for _ in range(tries):
        time.sleep(idle)
        woken.append(task())
        warm.append(task())
    return statistics.median(warm), statistics.median(woken)


def machine() -> list[str]:
    import platform

    import redis as redis_lib

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        db = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    info = django_rq.get_connection(settings.ENRICHMENT_QUEUE).info("server")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    warm, woken = wake_up_penalty()
    return [
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}",
        f"wake-up: a {warm:.1f} ms CPU task takes {woken:.1f} ms right after 200 ms asleep "
        "(weighs on the scaling row)",
        f"software: Python {platform.python_version()}, {db}, Redis {info['redis_version']}, "
        f"redis-py {redis_lib.__version__}",
    ]
