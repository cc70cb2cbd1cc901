"""Simulated hosts on this machine: network namespaces joined by a bridge.

Every namespace gets one veth link to a bridge in the root namespace and an address of
the test's own subnet (10.231.0.0/24, the bridge is .254). No route leads anywhere else,
so nothing leaves the machine. Names carry this process's id, and namespaces left by a
test run that died are removed by the next one.
"""

import os
import re
import subprocess

from devservices.postgres import process_alive

SUBNET = "10.231.0"
BRIDGE_ADDRESS = f"{SUBNET}.254"
PREFIX = "nsite"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def available() -> str | None:
    """Why simulated hosts cannot be made here, or None if they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        ip("netns", "list")
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        return f"no usable `ip netns`: {exc}"
    if f" {SUBNET}." in ip("-4", "addr").stdout:
        return f"{SUBNET}.0/24 is already in use on this machine"
    return None


def remove_leftovers() -> None:
    """Namespaces and bridges of test runs whose process is gone."""
    for line in ip("netns", "list").stdout.splitlines():
        match = re.match(rf"({PREFIX}(\d+)\w+)", line)
        if match and not process_alive(int(match.group(2))):
            ip("netns", "del", match.group(1), check=False)
    for line in ip("-o", "link", "show", "type", "bridge").stdout.splitlines():
        match = re.search(r": (nsb(\d+))[:@]", line)
        if match and not process_alive(int(match.group(2))):
            ip("link", "del", match.group(1), check=False)


class Hosts:
    """Namespaces named by role, each with an address: ``Hosts(["db", "w1", "w2"])``."""

    def __init__(self, roles: list[str]):
        pid = os.getpid()
        self.bridge = f"nsb{pid}"
        self.namespaces = {role: f"{PREFIX}{pid}{role}" for role in roles}
        self.addresses = {role: f"{SUBNET}.{index}" for index, role in enumerate(roles, 1)}
        # Host-side ends of the veth links (at most 15 characters).
        self.links = {role: f"nsv{pid}{index}" for index, role in enumerate(roles, 1)}

    def __enter__(self):
        remove_leftovers()
        try:
            ip("link", "add", self.bridge, "type", "bridge")
            ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
            for role, namespace in self.namespaces.items():
                link = self.links[role]
                ip("netns", "add", namespace)
                ip("link", "add", link, "type", "veth", "peer", "name", f"{link}p")
                ip("link", "set", f"{link}p", "netns", namespace)
                ip("-n", namespace, "link", "set", f"{link}p", "name", "eth0")
                ip("-n", namespace, "addr", "add", f"{self.addresses[role]}/24", "dev", "eth0")
                ip("-n", namespace, "link", "set", "eth0", "up")
                ip("-n", namespace, "link", "set", "lo", "up")
                ip("link", "set", link, "master", self.bridge)
                ip("link", "set", link, "up")
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc):
        self.remove()

    def remove(self) -> None:
        for namespace in self.namespaces.values():
            ip("netns", "del", namespace, check=False)
        for link in self.links.values():
            ip("link", "del", link, check=False)
        ip("link", "del", self.bridge, check=False)

    def command(self, role: str, *argv: str) -> list[str]:
        """``argv`` run inside the namespace of ``role``."""
        return ["ip", "netns", "exec", self.namespaces[role], *argv]

    def cut(self, role: str) -> None:
        """Take the host's link down: it can reach nothing and nothing reaches it."""
        ip("link", "set", self.links[role], "down")

    def exists(self) -> bool:
        listed = ip("netns", "list").stdout
        return any(namespace in listed for namespace in self.namespaces.values())
