"""A small notesite deployment for chaos tests: a private Redis, real `rqworker` processes,
the real `rqcron` reaper, the test database, and a provider; and ways to break each of them.

The provider is a parameter (``backend=``). By default it is the real ``openai`` backend
(the official client) talking to the loopback LLM stub of :mod:`tests.support.llm_stub`,
with a delay and a transient-failure rate; calls are counted from what the stub received.
``backend=CHAOS_BACKEND`` uses the in-process test enricher instead (same knobs, calls
counted on the shared test Redis).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import psutil
import redis
from django.db import connection
from rq import Worker

from devservices.redis import EmbeddedRedis
from notes.models import Note, content_hash
from notes.status import ProcessingStatus
from tests.support import netguard
from tests.support.enrichers import CALLING_KEY, CALLS_BY_HASH_KEY, CALLS_KEY, COUNTER_URL_ENV
from tests.support.llm_stub import _NOTE as NOTE_IN_MESSAGE
from tests.support.llm_stub import LLMStub
from tests.support.workers import ROOT, database_url, wait_until, worker_command

S = ProcessingStatus
CHAOS_BACKEND = "tests.support.enrichers.ChaosEnricher"

# Short clocks so that recovery takes seconds, not minutes (defaults: docs/reliability.md).
FAST_SETTINGS = {
    "WORKER_LIVENESS_TTL": 3,
    "QUEUE_JOB_TIMEOUT": 30,
    "ENRICHMENT_REAPER_INTERVAL": 1,
    "ENRICHMENT_RETRY_BASE_DELAY": 0.2,
    "ENRICHMENT_MAX_RETRIES": 4,
    "ENRICHMENT_SHUTDOWN_GRACE": 5,
    "LOG_LEVEL": "warning",
}


def queue_settings(url: str, live_queues: dict) -> dict:
    """RQ_QUEUES pointing at ``url`` with short timeouts, so that a dead Redis fails fast."""
    url = f"{url}?socket_timeout=2&socket_connect_timeout=1"
    return {name: {**conf, "URL": url} for name, conf in live_queues.items()}


class Cluster:
    """Workers, the cron scheduler and a private Redis; everything stops on ``close()``."""

    def __init__(self, counter, *, backend="openai", delay=0.1, fail_rate=0.0, **env):
        self.counter = counter
        self.stub: LLMStub | None = None
        if backend == "openai":
            self.stub = LLMStub(delay=delay, failure_rate=fail_rate).start()
            provider = {
                "OPENAI_BASE_URL": self.stub.base_url,
                "OPENAI_API_KEY": "sk-chaos-test-key",
                "OPENAI_MODEL": "stub-model",
                "ENRICHMENT_TIMEOUT": 10,
                **netguard.subprocess_env(),
            }
        else:
            provider = {"TEST_ENRICH_DELAY": delay, "TEST_FAIL_RATE": fail_rate}
        self.redis = EmbeddedRedis(persistent=False).start()
        self.env = {
            **os.environ,
            **{k: str(v) for k, v in FAST_SETTINGS.items()},
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis.url,
            COUNTER_URL_ENV: counter_url(counter),
            "ENRICHMENT_BACKEND": backend,
            "DJANGO_SETTINGS_MODULE": "notesite.settings",
            **{k: str(v) for k, v in provider.items()},
            **{k: str(v) for k, v in env.items()},
        }
        self.workers: list[subprocess.Popen] = []
        self.cron: subprocess.Popen | None = None
        self.crons_started = 0

    # --- processes ----------------------------------------------------------------

    def _spawn(self, command, log_name):
        with open(self.redis.directory / f"{log_name}.log", "ab") as log:
            # The child keeps its own copy of the file descriptor.
            return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def start_worker(self, *flags) -> subprocess.Popen:
        command = worker_command("--with-scheduler", *flags)
        worker = self._spawn(command, f"worker{len(self.workers)}")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` workers have registered with Redis (they are listening)."""
        conn = redis.Redis.from_url(self.redis.url)
        wait_until(lambda: Worker.count(connection=conn) >= count, timeout=timeout)

    def start_cron(self) -> None:
        """The reaper, exactly as deployed: `manage.py rqcron enrichment.cron`."""
        self.cron = self._spawn(
            [sys.executable, "manage.py", "rqcron", "enrichment.cron"], f"cron{self.crons_started}"
        )
        self.crons_started += 1
        self._cron_started = time.monotonic()

    def supervise(self) -> None:
        """Restart the cron scheduler if it exited (it does when Redis is unreachable), as
        a process supervisor would. Workers are not restarted: they outlive an outage."""
        if self.cron is not None and self.cron.poll() is not None:
            if time.monotonic() - self._cron_started > 2:  # a supervisor's restart delay
                self.start_cron()

    def horses_of(self, worker: subprocess.Popen) -> list[psutil.Process]:
        """The children of the worker that lead their own process group: its work horse
        (and its scheduler process, with --with-scheduler)."""
        try:
            return [
                child
                for child in psutil.Process(worker.pid).children()
                if os.getpgid(child.pid) == child.pid
            ]
        except (psutil.NoSuchProcess, ProcessLookupError):
            return []

    def calling_process(self, worker: subprocess.Popen, timeout: float = 10) -> psutil.Process:
        """The process making the worker's provider call, once it is waiting for the
        provider (a note is claimed)."""
        return self.calling_worker([worker], timeout)[1]

    def calling_worker(
        self, workers: list[subprocess.Popen], timeout: float = 10
    ) -> tuple[subprocess.Popen, psutil.Process]:
        """Whichever of ``workers`` is waiting for the provider, and the process making
        the call: the worker itself, which runs its jobs in process, or a work horse of a
        forking worker class."""

        def find():
            for worker in workers:
                try:
                    candidates = [psutil.Process(worker.pid), *self.horses_of(worker)]
                except psutil.NoSuchProcess:
                    continue
                calling = [p for p in candidates if self._waits_for_provider(p)]
                if calling:
                    return worker, calling[0]
            return None

        return wait_until(find, timeout=timeout, interval=0.01, message="for a provider call")

    def _waits_for_provider(self, process: psutil.Process) -> bool:
        """Whether ``process`` is inside a provider call, and will be for a while yet: the
        stub is answering a request on one of its connections (a kept-alive connection
        between calls is not) that came in less than half the stub's delay ago, so that a
        kill sent now lands before the answer does."""
        if self.stub is None:
            return self.counter.exists(CALLING_KEY.format(process.pid))
        port = self.stub.server.server_address[1]
        try:
            connections = process.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            return False
        fresh_since = time.monotonic() - self.stub.delay / 2
        with self.stub.lock:
            serving = {p for p, since in self.stub.serving_ports.items() if since > fresh_since}
        return any(
            c.raddr and c.raddr.port == port and c.laddr.port in serving for c in connections
        )

    def stop_redis(self) -> None:
        self.redis.stop()

    def restart_redis(self) -> None:
        """Start Redis again on the same port, empty (it was not persistent)."""
        self.redis = EmbeddedRedis(port=self.redis.port, directory=self.redis.directory).start()

    def close(self) -> None:
        processes = [*self.workers, *([self.cron] if self.cron else [])]
        for process in processes:
            if process.poll() is None:
                # Twice: RQ's warm shutdown, then its cold shutdown kills any horse.
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.redis.stop()
        if self.stub is not None:
            self.stub.stop()

    def logs(self) -> str:
        out = []
        for path in sorted(self.redis.directory.glob("*.log")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    # --- observing ----------------------------------------------------------------

    def calls_by_hash(self) -> Counter:
        """Provider calls per content hash: what the provider really received."""
        if self.stub is None:
            raw = self.counter.hgetall(CALLS_BY_HASH_KEY)
            return Counter({k.decode(): int(v) for k, v in raw.items()})
        with self.stub.lock:
            bodies = list(self.stub.requests)
        calls = Counter()
        for body in bodies:
            text = NOTE_IN_MESSAGE.search(body["messages"][-1]["content"]).group(1)
            calls[content_hash(text)] += 1
        return calls

    def total_calls(self) -> int:
        if self.stub is None:
            return int(self.counter.get(CALLS_KEY) or 0)
        return self.stub.count

    def wait_settled(self, note_ids, timeout: float = 300) -> list[Note]:
        """Wait until every note is COMPLETED or FAILED (supervising the cron meanwhile)."""

        def settled():
            self.supervise()
            left = Note.objects.filter(pk__in=note_ids).exclude(
                processing_status__in=[S.COMPLETED, S.FAILED]
            )
            return not left.exists()

        try:
            wait_until(settled, timeout=timeout, interval=0.25, message="for every note to settle")
        except AssertionError:
            stuck = Note.objects.filter(pk__in=note_ids).exclude(
                processing_status__in=[S.COMPLETED, S.FAILED]
            )
            rows = list(stuck.values_list("pk", "processing_status", "status_detail", "last_error"))
            raise AssertionError(f"not settled: {rows[:10]}\n{self.logs()}") from None
        return list(Note.objects.filter(pk__in=note_ids).order_by("pk"))


def counter_url(counter) -> str:
    kw = counter.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def kill_database_connections() -> int:
    """Terminate every other connection to the test database (and only to it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def other_database_connections() -> int:
    """Connections to the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def assert_every_note_settled_correctly(notes, calls_by_hash: Counter, *, max_calls: int) -> None:
    """The promises of docs/reliability.md, for a batch of settled notes.

    Every note is COMPLETED with the enrichment of its final content, or FAILED with a
    reason; no content version was sent to the provider more than ``max_calls`` times.
    """
    for note in notes:
        assert note.processing_status in (S.COMPLETED, S.FAILED), note.pk
        assert note.processing_token is None
        if note.processing_status == S.COMPLETED:
            assert note.enriched_hash == note.content_hash, note.pk
            assert note.enrichment_data and note.enrichment_data["title"]
        else:
            assert note.last_error, f"note {note.pk} FAILED without a reason"
        assert calls_by_hash[note.content_hash] >= 1, f"note {note.pk} was never enriched"
        assert calls_by_hash[note.content_hash] <= max_calls, (
            f"note {note.pk}: {calls_by_hash[note.content_hash]} provider calls > {max_calls}"
        )
