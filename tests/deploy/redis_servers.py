"""Real redis-server processes configured as production ones are: a password-protected
master and a Sentinel watching it, on free loopback ports."""

import subprocess
import tempfile
import time
from pathlib import Path

import redis

from notesite.embedded_redis import free_port, redis_server_binary


class RedisProcess:
    """One redis-server child process (a plain server or, with ``sentinel``, a Sentinel)."""

    def __init__(self, config: str, *, sentinel: bool = False):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="notesite-deploy-redis-"))
        self.config_file = self.directory / "redis.conf"
        self.config_file.write_text(
            f"bind 127.0.0.1\nport {self.port}\ndir {self.directory}\n"
            f'save ""\nloglevel warning\n{config}\n'
        )
        self.sentinel = sentinel
        self.process: subprocess.Popen | None = None

    def start(self, password: str | None = None, timeout: float = 10) -> "RedisProcess":
        args = [redis_server_binary(), str(self.config_file)]
        if self.sentinel:
            args.append("--sentinel")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, password=password, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
