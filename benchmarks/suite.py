"""The measurements. Each section returns rows: what was measured, the target, the verdict.

The targets are what people who run notesite notice: how long a note takes from save to
enrichment at a realistic model latency, how many model calls run at once per host and
what that costs in memory, and whether pages and bulk work stay fast as notes pile up.
Where RQ alone can do the same work (jobs that only sleep), its figure sits beside ours.

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
from django.core.management import call_command
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import Resolver404, resolve, reverse
from rq import SimpleWorker

from enrichment import pipeline
from notes import services
from notes.models import Note
from notes.status import ProcessingStatus

from . import data
from .workers import ROOT, WorkerPool, pss_mb, throughput, wait_for_jobs

NULL_BACKEND = "benchmarks.enrichers.NullEnricher"
SLEEP_BACKEND = "benchmarks.enrichers.SleepEnricher"
S = ProcessingStatus


@dataclass
class Config:
    notes: int
    latency_ms: int
    latency_notes: int
    workers: list[int]
    jobs_per_worker: int
    overhead_jobs: int
    repeats: int
    drain_workers: int
    drain_notes: int
    drain_window: float
    worker_class: str | None = None


@dataclass
class Row:
    section: str
    name: str
    measured: str
    target: str = ""
    ok: bool | None = None  # None: for information
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def wait_for_notes(ids: list[int], *, timeout: float, done=(S.COMPLETED,)) -> None:
    """Wait until every note of ``ids`` is in one of the ``done`` statuses."""
    deadline = time.monotonic() + timeout
    while True:
        left = Note.objects.filter(pk__in=ids).exclude(processing_status__in=done).count()
        if not left:
            return
        if time.monotonic() > deadline:
            by_status = dict(
                Note.objects.filter(pk__in=ids)
                .exclude(processing_status__in=done)
                .values_list("processing_status", "pk")[:5]
            )
            raise RuntimeError(f"{left} notes not done after {timeout:.0f} s, e.g. {by_status}")
        time.sleep(0.05)


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children that have ended (its work horses)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


# --- Latency: save to completed ------------------------------------------------------


def latency(cfg: Config, owner) -> list[Row]:
    """Notes saved through the service one at a time, the system otherwise idle: time from
    the save (``created_at``) to the stored enrichment (``processed_at``). Beside it, raw
    RQ jobs that only sleep as long: enqueue to end."""
    seconds = cfg.latency_ms / 1000
    raw_count = max(cfg.latency_notes // 2, 1)
    with WorkerPool(
        1,
        worker_class=cfg.worker_class,
        forked=False,
        ENRICHMENT_BACKEND=SLEEP_BACKEND,
        BENCH_ENRICHER_LATENCY_MS=cfg.latency_ms,
    ) as pool:
        # Warm up (imports, first connections) before anything is timed.
        wait_for_jobs(data.enqueue_noop_jobs(2, func="benchmarks.jobs.sleep"), timeout=60)
        raw = []
        for _ in range(raw_count):
            (job,) = wait_for_jobs(
                data.enqueue_noop_jobs(1, func="benchmarks.jobs.sleep"), timeout=60
            )
            raw.append((job.ended_at - job.enqueued_at).total_seconds())
        ours = []
        for index in range(cfg.latency_notes):
            note = services.create_note(owner=owner, content=f"Latency note {index}.")
            wait_for_notes([note.pk], timeout=60 + 5 * seconds)
            note.refresh_from_db()
            ours.append((note.processed_at - note.created_at).total_seconds())
        (pid,) = pool.pids
        single_pss = pss_mb(pid)
    p50, p95 = statistics.median(ours), percentile(ours, 0.95)
    raw50, raw95 = statistics.median(raw), percentile(raw, 0.95)
    p50_target, p95_target = seconds + 0.15, seconds + 0.3
    log(f"latency: p50 {p50:.3f} s, p95 {p95:.3f} s; raw RQ p50 {raw50:.3f} s")
    return [
        Row(
            "latency",
            f"save -> completed, {cfg.latency_notes} notes one at a time, "
            f"{cfg.latency_ms} ms model",
            f"p50 {p50:.3f} s, p95 {p95:.3f} s, max {max(ours):.3f} s "
            f"(raw RQ sleep jobs, enqueue -> end: p50 {raw50:.3f} s, p95 {raw95:.3f} s)",
            f"p50 <= {p50_target:.2f} s, p95 <= {p95_target:.2f} s",
            p50 <= p50_target and p95 <= p95_target,
            {"p50": p50, "p95": p95, "max": max(ours), "raw_p50": raw50, "raw_p95": raw95},
        ),
        Row(
            "memory",
            "one separate rqworker process (PSS after the latency row)",
            f"{single_pss:.0f} MB",
            figures={"pss_mb": single_pss},
        ),
    ]


# --- Concurrency and memory ----------------------------------------------------------

CONCURRENCY_TARGETS = {8: 0.90, 32: 0.85}


def concurrency(cfg: Config, owner, *, memory: bool = True) -> list[Row]:
    """Throughput with N forked workers (one ``rqworker-pool``) when every model call takes
    ``latency_ms``, against the ideal N / latency; raw RQ sleep jobs first, on the same
    workers. With the largest pool, once idle again: the pool's total PSS."""
    rows = []
    latency_s = cfg.latency_ms / 1000
    largest = max(cfg.workers)
    for count in cfg.workers:
        target = CONCURRENCY_TARGETS.get(count, 0.85 if count > 8 else 0.90)
        with WorkerPool(
            count,
            worker_class=cfg.worker_class,
            ENRICHMENT_BACKEND=SLEEP_BACKEND,
            BENCH_ENRICHER_LATENCY_MS=cfg.latency_ms,
        ) as pool:
            total = count * cfg.jobs_per_worker
            # Warm-up: every worker runs a job before anything is timed.
            wait_for_jobs(data.enqueue_noop_jobs(count, func="benchmarks.jobs.noop"), timeout=60)
            raw_ids = data.enqueue_noop_jobs(total, func="benchmarks.jobs.sleep")
            raw_jobs = wait_for_jobs(raw_ids, timeout=_job_timeout(total, latency_s))
            cpu_before = sum(_cpu_seconds(pid) for pid in pool.all_pids())
            ids = data.enqueue_pipeline_jobs(data.queued_notes(total, owner))
            busy = None
            if memory and count == largest:
                time.sleep(latency_s / 2)  # every worker is in a model call now
                busy = pool.memory()
            jobs = wait_for_jobs(ids, timeout=_job_timeout(total, latency_s))
            cpu = sum(_cpu_seconds(pid) for pid in pool.all_pids()) - cpu_before
            if memory and count == largest:
                time.sleep(2)  # idle: every work horse has exited
                idle = pool.memory()
                top = pool.pids[0]
                rows += memory_rows(count, idle, busy, top)
        rate, _ = throughput(jobs)
        raw_rate, _ = throughput(raw_jobs)
        ideal = count / latency_s
        efficiency, raw_efficiency = rate / ideal, raw_rate / ideal
        log(f"concurrency: {count} workers {rate:.2f}/s of {ideal:.2f}/s ideal")
        rows.insert(
            len(rows) - (2 if memory and count == largest else 0),
            Row(
                "concurrency",
                f"{count} worker(s) (rqworker-pool), {cfg.latency_ms} ms model, {total} notes",
                f"{rate:.2f} of {ideal:.2f} notes/s ideal = {efficiency:.0%} "
                f"(raw RQ sleep jobs: {raw_efficiency:.0%}); "
                f"worker CPU {1000 * cpu / total:.0f} ms per note",
                f">= {target:.0%}",
                efficiency >= target,
                {
                    "workers": count,
                    "per_s": rate,
                    "ideal_per_s": ideal,
                    "efficiency": efficiency,
                    "raw_efficiency": raw_efficiency,
                    "cpu_ms_per_note": 1000 * cpu / total,
                },
            ),
        )
    return rows


def memory_rows(count: int, idle, busy, top: int) -> list[Row]:
    total = sum(pss for _, pss, _ in idle)
    workers = [pss for pid, pss, _ in idle if pid != top]
    parent = sum(pss for pid, pss, _ in idle if pid == top)
    per_call = total / count
    busy_total = sum(pss for _, pss, _ in busy) if busy else 0.0
    log(f"memory: {count} idle workers {total:.0f} MB PSS; busy {busy_total:.0f} MB")
    return [
        Row(
            "memory",
            f"{count} idle workers, total PSS (smaps_rollup)",
            f"{total:.0f} MB = {per_call:.1f} MB per worker (parent {parent:.0f} MB, "
            f"workers {min(workers, default=0):.1f}-{max(workers, default=0):.1f} MB each)",
            f"<= 2048 MB ({2048 // count} MB per call)",
            total <= 2048,
            {"total_mb": total, "per_worker_mb": per_call, "parent_mb": parent,
             "workers_mb": workers},
        ),
        Row(
            "memory",
            f"{count} workers in model calls (every process of the pool), total PSS",
            f"{busy_total:.0f} MB = {busy_total / count:.1f} MB per concurrent call "
            f"({len(busy or [])} processes)",
            figures={"total_mb": busy_total, "processes": len(busy or [])},
        ),
    ]  # fmt: skip


# --- Overhead (information) ----------------------------------------------------------


def pipeline_queries_per_note(owner) -> int:
    """SQL statements one successful attempt runs (claim, run history, fenced store)."""
    ((note_id, job_id),) = data.queued_notes(1, owner)
    with override_settings(ENRICHMENT_BACKEND=NULL_BACKEND), CaptureQueriesContext(connection) as q:
        outcome = pipeline.run(note_id, job_id)
    if outcome != "completed":
        raise RuntimeError(f"the pipeline did not complete a benchmark note: {outcome}")
    return len(q.captured_queries)


def overhead(cfg: Config, owner) -> list[Row]:
    """Notes per second through the whole pipeline with a zero-latency model against raw
    RQ no-op jobs, on the same worker, in interleaved rounds. For information: a real
    model call of 1-30 s hides these milliseconds."""
    rounds = 2
    per_round = max(cfg.overhead_jobs // rounds, 1)
    spent = {"raw": [0, 0.0], "pipeline": [0, 0.0]}
    with WorkerPool(1, worker_class=cfg.worker_class, ENRICHMENT_BACKEND=NULL_BACKEND):
        wait_for_jobs(data.enqueue_noop_jobs(5), timeout=60)
        wait_for_jobs(data.enqueue_pipeline_jobs(data.queued_notes(5, owner)), timeout=60)
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
    raw = spent["raw"][0] / spent["raw"][1]
    ours = spent["pipeline"][0] / spent["pipeline"][1]
    queries = pipeline_queries_per_note(owner)
    log(f"overhead: pipeline {ours:.1f}/s, raw RQ {raw:.1f}/s, {queries} SQL per note")
    return [
        Row(
            "overhead",
            f"pipeline vs raw RQ no-op ({spent['raw'][0]} jobs each, 1 worker, 0 ms model)",
            f"{ours:.0f} vs {raw:.0f} jobs/s = {raw / ours:.2f}x "
            f"(+{1000 / ours - 1000 / raw:.1f} ms per note); {queries} SQL per note",
            figures={"pipeline_per_s": ours, "raw_per_s": raw, "queries": queries},
        )
    ]


def openai_cpu(cfg: Config, owner) -> list[Row]:
    """CPU per note through the real openai backend (the official client, HTTP to the
    loopback LLM stub answering at once): what a host spends per note besides waiting."""
    from tests.support.llm_stub import LLMStub

    count = max(cfg.overhead_jobs // 10, 5)
    with (
        LLMStub(delay=0) as stub,
        WorkerPool(
            1,
            worker_class=cfg.worker_class,
            forked=False,
            ENRICHMENT_BACKEND="openai",
            OPENAI_BASE_URL=stub.base_url,
            OPENAI_API_KEY="sk-bench-stub",
            OPENAI_MODEL="stub-model",
        ) as pool,
    ):
        wait_for_jobs(data.enqueue_pipeline_jobs(data.queued_notes(2, owner)), timeout=120)
        cpu_before = sum(_cpu_seconds(pid) for pid in pool.all_pids())
        jobs = wait_for_jobs(
            data.enqueue_pipeline_jobs(data.queued_notes(count, owner)),
            timeout=_job_timeout(count, 5),
        )
        cpu = sum(_cpu_seconds(pid) for pid in pool.all_pids()) - cpu_before
        calls = stub.count
    rate, _ = throughput(jobs)
    log(f"openai CPU: {1000 * cpu / count:.0f} ms per note, {rate:.1f} notes/s")
    return [
        Row(
            "overhead",
            f"openai backend, loopback stub answering at once ({count} notes, 1 worker)",
            f"worker CPU {1000 * cpu / count:.0f} ms per note, {rate:.1f} notes/s, {calls} calls",
            figures={"cpu_ms_per_note": 1000 * cpu / count, "per_s": rate, "calls": calls},
        )
    ]


# --- Pages ---------------------------------------------------------------------------


def page_paths(main_user) -> list[tuple[str, str, float]]:
    detail = Note.objects.filter(owner=main_user).order_by("-pk").values_list("pk", flat=True)[:1]
    detail_id = detail[0] if detail else 0
    changelist = reverse("admin:notes_note_changelist")
    return [
        ("note list", "/notes/", 50),
        ("search, rare word", f"/notes/?q={data.RARE_WORD}", 50),
        ("search, word in 10% of notes", f"/notes/?q={data.COMMON_WORD}", 50),
        ("detail", f"/notes/{detail_id}/", 50),
        ("admin changelist", changelist, 50),
        ("admin changelist, failed", f"{changelist}?processing_status__exact=failed", 50),
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
    """Status, SQL count (of one request), and median / p95 time of ``repeats`` more, with
    the median CPU time this process spent on a request: on a busy machine the wall time
    includes waiting for a core, the CPU time does not."""
    with count_statements() as statements:
        response = client.get(path)
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return {
        "status": response.status_code,
        "queries": len(statements),
        "median_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "cpu_ms": statistics.median(cpu),
    }


def pages(cfg: Config, main_user, others, sizes: list[int]) -> list[Row]:
    """Each page at each data size; rows for the largest, with the SQL counts of all."""
    client = Client()
    client.force_login(main_user)
    by_page: dict[str, list[tuple[int, dict]]] = {}
    for size in sizes:
        start = time.monotonic()
        added = data.seed_completed(size, main_user=main_user, others=others)
        log(f"pages: {size} notes ({added} added in {time.monotonic() - start:.0f} s)")
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
            r["status"] in ((200, 503) if name == "health view" else (200,)) for _, r in results
        )
        trail = ", ".join(f"{r['median_ms']:.0f} ms @{size}" for size, r in results)
        rows.append(
            Row(
                "pages",
                label,
                f"median {last['median_ms']:.1f} ms (CPU {last['cpu_ms']:.0f} ms), "
                f"p95 {last['p95_ms']:.1f} ms, {last['queries']} SQL "
                f"(SQL by size: {'/'.join(map(str, counts))}; {trail})"
                + ("" if ok_status else f" HTTP {last['status']}"),
                f"median < {target} ms, same SQL",
                ok_status and last["median_ms"] < target and len(set(counts)) == 1,
                {"by_size": {str(size): r for size, r in results}},
            )
        )
    return rows


# --- Bulk ----------------------------------------------------------------------------


def bulk(cfg: Config, owner) -> list[Row]:
    """Reprocess every note through the admin action and through ``reprocess_notes
    --all`` (each in a fresh process, so its peak memory is its own); then drain the
    backlog with real workers: how fast, at what peak memory, and how soon a note
    written meanwhile starts. Finally a backlog of ``drain_notes`` is drained to the
    last note."""
    total = Note.objects.count()
    rows = []
    steps = [("admin action", "bulk-admin", 2.0), ("reprocess_notes --all", "bulk-command", 60.0)]
    for label, step_name, limit in steps:
        flush_redis()
        data.mark_all(S.COMPLETED)
        result = run_step(step_name)
        log(f"bulk {label}: {result}")
        ok = result["seconds"] < limit and result["peak_rss_mb"] < 300
        ok = ok and result["queued"] == total
        rows.append(
            Row(
                "bulk",
                f"reprocess {total} notes: {label}",
                f"returns in {result['seconds']:.1f} s"
                + (
                    f" (every note queued by its job after {result['all_queued_s']:.1f} s)"
                    if step_name == "bulk-admin"
                    else ""
                )
                + f", peak RSS {result['peak_rss_mb']:.0f} MB, "
                f"{result['queued']} notes QUEUED, {result['in_redis']} jobs in Redis",
                f"< {limit:.0f} s, < 300 MB, all queued",
                ok,
                result,
            )
        )
    rows += drain(cfg, owner, total)
    flush_redis()  # the bench database is dropped; a reset of every note would only cost
    return rows


def _started_within(note_id: int, timeout: float) -> float:
    """Seconds from now until the note leaves QUEUED (a worker claimed it)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        status = Note.objects.filter(pk=note_id).values_list("processing_status", flat=True)
        if status and status[0] != S.QUEUED:
            return time.monotonic() - start
        time.sleep(0.02)
    return float("inf")


def drain(cfg: Config, owner, total: int) -> list[Row]:
    latency_s = cfg.latency_ms / 1000
    with WorkerPool(
        cfg.drain_workers,
        worker_class=cfg.worker_class,
        ENRICHMENT_BACKEND=SLEEP_BACKEND,
        BENCH_ENRICHER_LATENCY_MS=cfg.latency_ms,
    ) as pool:
        # The backlog of the command's run is waiting; give the feeder a moment to start.
        time.sleep(2 * latency_s + 1)
        note = services.create_note(owner=owner, content="Written while the backlog drains.")
        started = _started_within(note.pk, 30)
        done_before = Note.objects.filter(processing_status=S.COMPLETED).count()
        window_start = time.monotonic()
        time.sleep(cfg.drain_window)
        done = Note.objects.filter(processing_status=S.COMPLETED).count() - done_before
        rate = done / (time.monotonic() - window_start)
        in_redis = sum(q.count for q in _queues())
        peak = max((hwm for _, _, hwm in pool.memory()), default=0.0)
    log(f"drain: {rate:.1f} notes/s, fresh note started after {started:.2f} s")
    ideal = cfg.drain_workers / latency_s
    left = Note.objects.filter(processing_status=S.QUEUED).count()
    rows = [
        Row(
            "bulk",
            f"note written while {total} notes drain ({cfg.drain_workers} workers, "
            f"{cfg.latency_ms} ms model)",
            f"starts after {started:.2f} s",
            "< 5 s",
            started < 5,
            {"started_s": started},
        ),
        Row(
            "bulk",
            f"drain of {total} notes, {cfg.drain_workers} workers, {cfg.latency_ms} ms model",
            f"{rate:.1f} of {ideal:.1f} notes/s ideal over {cfg.drain_window:.0f} s, "
            f"{in_redis} jobs in Redis meanwhile, worker peak RSS {peak:.0f} MB; "
            f"{left} left: {left / max(rate, 1e-6) / 3600:.1f} h at this pace",
            "< 300 MB",
            peak < 300,
            {"per_s": rate, "in_redis": in_redis, "peak_rss_mb": peak, "left": left},
        ),
    ]
    # Every note delivered: a backlog small enough to drain here, to the last note.
    flush_redis()
    data.mark_all(S.COMPLETED)
    ids = list(Note.objects.order_by("pk").values_list("pk", flat=True)[: cfg.drain_notes])
    with WorkerPool(
        cfg.drain_workers, worker_class=cfg.worker_class, ENRICHMENT_BACKEND=NULL_BACKEND
    ) as pool:
        start = time.monotonic()
        services.reprocess_notes(ids)
        wait_for_notes(ids, timeout=120 + len(ids))
        seconds = time.monotonic() - start
        peak = max((hwm for _, _, hwm in pool.memory()), default=0.0)
    everyone = Note.objects.filter(pk__in=ids, processing_status=S.COMPLETED).count()
    rows.append(
        Row(
            "bulk",
            f"backlog of {len(ids)} notes drained to the last one ({cfg.drain_workers} "
            "workers, 0 ms model)",
            f"{everyone} of {len(ids)} completed in {seconds:.1f} s "
            f"({len(ids) / seconds:.1f} notes/s), worker peak RSS {peak:.0f} MB",
            "all, < 300 MB",
            everyone == len(ids) and peak < 300,
            {"completed": everyone, "seconds": seconds, "peak_rss_mb": peak},
        )
    )
    return rows


def _queues():
    from .workers import queue_names

    return [django_rq.get_queue(name) for name in queue_names()]


def run_step(step_name: str) -> dict:
    """Run one measured step in a fresh process, so that its peak memory is its own."""
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench", "--step", step_name],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench step {step_name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def step(name: str) -> dict:
    """Body of a measured step (runs in its own process, see :func:`run_step`)."""
    start = time.perf_counter()
    returned = None
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
        returned = time.perf_counter() - start
        # A large selection is handed to a job on the maintenance queue: run it here, as
        # a worker would, so that the row shows when every note was queued and the job's
        # memory too.
        maintenance = django_rq.get_queue(settings.ENRICHMENT_MAINTENANCE_QUEUE)
        SimpleWorker([maintenance], connection=maintenance.connection).work(burst=True)
    elif name == "bulk-command":
        with open(os.devnull, "w") as devnull:
            call_command("reprocess_notes", "--all", "--no-progress", stdout=devnull)
    else:
        raise ValueError(name)
    seconds = time.perf_counter() - start
    return {
        "seconds": returned if name == "bulk-admin" else seconds,
        "all_queued_s": seconds,
        "queued": Note.objects.filter(processing_status=S.QUEUED).count(),
        "in_redis": sum(q.count for q in _queues()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# --- The table -----------------------------------------------------------------------


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
        "(weighs on the concurrency rows)",
        f"software: Python {platform.python_version()}, {db}, Redis {info['redis_version']}, "
        f"redis-py {redis_lib.__version__}",
    ]
