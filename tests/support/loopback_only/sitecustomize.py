"""Loaded at start-up by Python subprocesses started with tests.support.netguard's
``subprocess_env()``: the process may only connect to loopback hosts."""

from tests.support import netguard

netguard.install(netguard.report_to_stderr)
