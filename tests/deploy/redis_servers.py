"""Real redis-server processes configured as production ones are: a password-protected
master and a Sentinel watching it, on free loopback ports."""

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from devservices.redis import free_port, redis_server_binary, stop_process


class RedisProcess:
    """One redis-server child process (a plain server or, with ``sentinel``, a Sentinel)."""

    def __init__(
        self,
        config: str,
        *,
        sentinel: bool = False,
        tls: "TlsFiles | None" = None,
        binary: str | None = None,
    ):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="notesite-deploy-redis-"))
        self.config_file = self.directory / "redis.conf"
        if tls:
            # TLS only: the plain port is closed.
            listen = (
                f"port 0\ntls-port {self.port}\ntls-cert-file {tls.server_cert}\n"
                f"tls-key-file {tls.server_key}\ntls-ca-cert-file {tls.ca_cert}\n"
                "tls-auth-clients no\n"
            )
        else:
            listen = f"port {self.port}\n"
        self.config_file.write_text(
            f'bind 127.0.0.1\n{listen}dir {self.directory}\nsave ""\nloglevel warning\n{config}\n'
        )
        self.sentinel = sentinel
        self.tls = tls
        self.binary = binary or redis_server_binary()
        self.process: subprocess.Popen | None = None

    def start(self, password: str | None = None, timeout: float = 10) -> "RedisProcess":
        args = [self.binary, str(self.config_file)]
        if self.sentinel:
            args.append("--sentinel")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = redis.Redis(
            "127.0.0.1", self.port, password=password, socket_timeout=1, **self.ssl()
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def ssl(self) -> dict:
        """Client options for this server (TLS with its CA), for redis.Redis(...)."""
        if not self.tls:
            return {}
        return {"ssl": True, "ssl_ca_certs": str(self.tls.ca_cert)}

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A private CA and a certificate for 127.0.0.1 signed by it (openssl command line)."""

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=notesite test CA",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-out", "server.crt", "-extfile", "san.ext",
    )  # fmt: skip
    return TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
