"""Workers on several hosts sharing one PostgreSQL and one Redis, measured.

Three simulated hosts (network namespaces, see :mod:`tests.multihost.netns`): ``db`` runs
PostgreSQL, Redis, the cron scheduler (the reaper) and writes the notes as the web does,
through the service; ``w1`` and ``w2`` each run one ``rqworker-pool``. The provider is the
loopback LLM stub, served on the bridge and reached through the real openai backend, so
every paid call is counted where it arrives.

Selected with ``-m multihost`` (root only: it makes namespaces). It prints its figures:

    .venv/bin/python -m pytest tests/multihost -m multihost -s
"""

import collections
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import redis
from rq import Worker

from notes.models import content_hash
from tests.multihost import netns
from tests.support import netguard
from tests.support.llm_stub import _NOTE as NOTE_IN_MESSAGE
from tests.support.llm_stub import LLMStub, _Handler

pytestmark = [pytest.mark.multihost, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKERS_PER_HOST = 4
MODEL_SECONDS = 2.0
NOTES = 32
# Short clocks so that a lost host is noticed in seconds (defaults: docs/reliability.md).
FAST = {
    "WORKER_LIVENESS_TTL": "6",
    "ENRICHMENT_REAPER_INTERVAL": "2",
    "ENRICHMENT_TIMEOUT": "60",
    "LOG_LEVEL": "warning",
}
QUEUES = ["note_maintenance", "note_enrichment", "note_enrichment_bulk"]


class BridgeStub(LLMStub):
    """The LLM stub, served on the bridge address so that every simulated host reaches it;
    it also counts the calls per calling host."""

    def start(self) -> "BridgeStub":
        stub = self
        self.by_host = collections.Counter()

        class Handler(_Handler):
            def do_POST(self):
                with stub.lock:
                    stub.by_host[self.client_address[0]] += 1
                super().do_POST()

        Handler.stub = stub
        self.server = ThreadingHTTPServer((netns.BRIDGE_ADDRESS, 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://{netns.BRIDGE_ADDRESS}:{self.server.server_address[1]}/v1"

    def calls_by_hash(self) -> collections.Counter:
        with self.lock:
            bodies = list(self.requests)
        return collections.Counter(
            content_hash(NOTE_IN_MESSAGE.search(body["messages"][-1]["content"]).group(1))
            for body in bodies
        )


class Site:
    """The processes of the simulated hosts; ``stop()`` ends every one of them."""

    def __init__(self, hosts: netns.Hosts, stub: BridgeStub, urls: dict, logs: Path):
        self.hosts = hosts
        self.stub = stub
        self.urls = urls
        self.logs = logs
        self.pools: dict[str, subprocess.Popen] = {}
        self.others: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            **FAST,
            **urls,
            "DJANGO_SETTINGS_MODULE": "notesite.settings",
            "ENRICHMENT_BACKEND": "openai",
            "OPENAI_BASE_URL": stub.base_url,
            "OPENAI_API_KEY": "sk-multihost-test-key",
            "OPENAI_MODEL": "stub-model",
        }
        self.redis = redis.Redis.from_url(urls["REDIS_URL"], socket_timeout=5)

    def _spawn(self, role: str, argv: list[str], name: str) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                self.hosts.command(role, *argv),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: stopped as a whole
            )

    def start_pool(self, role: str) -> None:
        argv = [sys.executable, "manage.py", "rqworker-pool", "--num-workers"]
        self.pools[role] = self._spawn(role, [*argv, str(WORKERS_PER_HOST), *QUEUES], role)

    def stop_pool(self, role: str) -> None:
        _stop_group(self.pools.pop(role))

    def start_cron(self) -> None:
        argv = [sys.executable, "manage.py", "rqcron", "enrichment.cron"]
        self.others.append(self._spawn("db", argv, "cron"))

    def wait_for_workers(self, count: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while Worker.count(connection=self.redis) != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{Worker.count(connection=self.redis)} workers, not {count}")
            time.sleep(0.5)

    def create_notes(self, count: int, label: str) -> list[int]:
        """Notes written on the database host through the service, as the web writes them."""
        script = (
            "import json; from django.contrib.auth import get_user_model; "
            "from notes import services; "
            "owner, _ = get_user_model().objects.get_or_create(username='multihost'); "
            f"print(json.dumps([services.create_note(owner=owner, content=f'{label} note {{i}}.')"
            f".pk for i in range({count})]))"
        )
        argv = [sys.executable, "manage.py", "shell", "-c", script]
        done = subprocess.run(
            self.hosts.command("db", *argv),
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def notes(self, ids: list[int]) -> list[tuple]:
        with psycopg.connect(self.urls["DATABASE_URL"]) as conn:
            return conn.execute(
                "SELECT id, processing_status, content_hash, created_at, processed_at "
                "FROM notes_note WHERE id = ANY(%s) ORDER BY id",
                [ids],
            ).fetchall()

    def wait_completed(self, ids: list[int], timeout: float) -> list[tuple]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.notes(ids)
            if all(row[1] == "completed" for row in rows):
                return rows
            if time.monotonic() > deadline:
                left = [(row[0], row[1]) for row in rows if row[1] != "completed"]
                raise AssertionError(f"not completed after {timeout} s: {left}\n{self.tail()}")
            time.sleep(0.25)

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        for role in list(self.pools):
            self.stop_pool(role)
        for process in self.others:
            _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL to whatever is left after a few seconds (a
    cut-off host's workers hang on connections that can no longer answer)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            # The group may outlive its leader (work horses): make sure of it.
            os.killpg(process.pid, signal.SIGKILL)
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            pass
        break


@pytest.fixture
def site(tmp_path, monkeypatch):
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    # The test's own subnet is part of this machine; everything else stays refused.
    subnet = ipaddress.ip_network(f"{netns.SUBNET}.0/24")
    loopback = netguard.is_loopback

    def on_this_machine(address) -> bool:
        if loopback(address):
            return True
        try:
            return ipaddress.ip_address(str(address[0])) in subnet
        except ValueError:
            return False

    monkeypatch.setattr(netguard, "is_loopback", on_this_machine)
    with netns.Hosts(["db", "w1", "w2"]) as hosts, BridgeStub(delay=MODEL_SECONDS) as stub:
        services = subprocess.Popen(
            hosts.command(
                "db",
                sys.executable,
                "-m",
                "tests.multihost.services",
                hosts.addresses["db"],
                str(tmp_path / "db"),
            ),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        running = None
        try:
            line = services.stdout.readline()
            assert line, "the database host did not start"
            running = Site(hosts, stub, json.loads(line), tmp_path)
            yield running
        finally:
            if running is not None:
                running.stop()
            services.stdin.close()
            try:
                services.wait(60)
            except subprocess.TimeoutExpired:
                services.kill()
    assert not hosts.exists()


def throughput(rows) -> float:
    start = min(row[3] for row in rows)
    end = max(row[4] for row in rows)
    return len(rows) / (end - start).total_seconds()


def test_workers_on_two_hosts_share_the_work_and_survive_losing_one(site):
    site.start_cron()

    # One worker host.
    site.start_pool("w1")
    site.wait_for_workers(WORKERS_PER_HOST)
    one = throughput(site.wait_completed(site.create_notes(NOTES, "one-host"), timeout=120))
    site.stop_pool("w1")
    site.wait_for_workers(0)

    # Two worker hosts.
    site.start_pool("w1")
    site.start_pool("w2")
    site.wait_for_workers(2 * WORKERS_PER_HOST)
    site.stub.by_host.clear()
    two = throughput(site.wait_completed(site.create_notes(NOTES, "two-hosts"), timeout=120))
    shares = dict(site.stub.by_host)
    ideal = WORKERS_PER_HOST / MODEL_SECONDS
    print(
        f"\nmultihost: {WORKERS_PER_HOST} workers per host, {MODEL_SECONDS:.0f} s model, "
        f"{NOTES} notes: one host {one:.2f} notes/s ({one / ideal:.0%} of ideal), "
        f"two hosts {two:.2f} notes/s ({two / (2 * ideal):.0%} of ideal) = {two / one:.2f}x; "
        f"calls per host {shares}"
    )
    assert two >= 1.5 * one
    assert all(shares.get(site.hosts.addresses[role], 0) > 0 for role in ("w1", "w2"))

    # Cut w1 off in the middle of its provider calls.
    site.stub.delay = 4.0
    site.stub.by_host.clear()
    ids = site.create_notes(NOTES // 2, "cut")
    w1 = site.hosts.addresses["w1"]
    deadline = time.monotonic() + 30
    while site.stub.by_host[w1] < WORKERS_PER_HOST:
        assert time.monotonic() < deadline, f"w1 never got busy: {dict(site.stub.by_host)}"
        time.sleep(0.05)
    time.sleep(1)  # in the middle of the calls
    site.hosts.cut("w1")
    cut_at = time.monotonic()
    rows = site.wait_completed(ids, timeout=180)
    recovered = time.monotonic() - cut_at
    calls = site.stub.calls_by_hash()
    paid = [calls[row[2]] for row in rows]
    repeated = sum(1 for count in paid if count > 1)
    print(
        f"multihost: w1 cut with {WORKERS_PER_HOST} calls in flight; every note completed "
        f"{recovered:.1f} s after the cut (liveness TTL {FAST['WORKER_LIVENESS_TTL']} s, reaper "
        f"every {FAST['ENRICHMENT_REAPER_INTERVAL']} s); {repeated} notes paid twice, "
        f"most calls for one note: {max(paid)}"
    )
    assert max(paid) <= 2
    assert repeated >= 1, "no call of the cut host was lost: the cut came too late"
