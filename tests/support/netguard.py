"""Keep tests on this machine: refuse socket connections to any host but loopback.

Used by the autouse ``no_internet`` fixture in the test process, and in worker
subprocesses through :mod:`tests.support.loopback_only.sitecustomize` (see
:func:`subprocess_env`).
"""

import ipaddress
import os
import socket
import sys
from pathlib import Path

_LOOPBACK_NAMES = {"localhost", "::1"}
MARK = "NETWORK GUARD: refused"


def is_loopback(address) -> bool:
    """True for loopback IPs and names, and for non-IP addresses (AF_UNIX paths)."""
    if not isinstance(address, tuple):
        return True
    host = str(address[0])
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def install(on_refuse) -> tuple:
    """Patch socket connects; ``on_refuse(address)`` is told of every refused attempt.
    Returns the original methods, for uninstalling."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address):
        if not is_loopback(address):
            on_refuse(address)
            raise ConnectionRefusedError(f"tests may not reach non-loopback host {address!r}")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    return real_connect, real_connect_ex


def report_to_stderr(address) -> None:
    """In a subprocess: leave a line the test can look for in the output."""
    print(f"{MARK} {address!r}", file=sys.stderr, flush=True)


def subprocess_env() -> dict:
    """Environment additions that install the guard in a Python subprocess at start-up."""
    here = Path(__file__).resolve()
    paths = [str(here.parent / "loopback_only"), str(here.parents[2])]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {"PYTHONPATH": os.pathsep.join(paths)}
