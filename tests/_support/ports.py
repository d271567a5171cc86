"""Loopback ports for servers a test starts, out of reach of the kernel's ephemeral ports.

The usual trick (bind port 0, read it, close, hand it to a child) leaves a window in which the
kernel may give the same port to any outgoing connection, since port 0 draws from the ephemeral
range that connections use too; on a loaded machine that window is long enough to lose. Ports
here come from below that range, so no outgoing connection can take one; each is checked free
and never handed out twice by one process, and they are drawn at random so that two test runs
on one machine do not walk the same sequence. Under pytest-xdist each worker draws only ports
whose remainder modulo the number of workers is its own index, so two workers of one run can
never hand out the same port.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

LOWEST = 20_000
"""Below this live well-known services' default ports (and anything a user started on them)."""

_given: set[int] = set()
_draw = random.SystemRandom()  # not the global generator: tests seed that one


def _worker_share() -> tuple[int, int]:
    """``(index, count)`` of this pytest-xdist worker (``(0, 1)`` outside xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not (worker.startswith("gw") and worker[2:].isdigit()):
        return 0, 1
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), 1)
    return int(worker[2:]) % count, count


def _ephemeral_low(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default range starts here


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on or is connected from now, and that this process never gave."""
    high = _ephemeral_low() - 1
    index, count = _worker_share()
    for _ in range(500):
        port = _draw.randint(LOWEST, high)
        port -= (port - index) % count  # this worker's residue class
        if port < LOWEST:
            continue
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:  # taken, or in TIME_WAIT: a child without SO_REUSEADDR would fail too
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port on {host} in {LOWEST}..{high} after 500 draws")


def free_endpoint(host: str = "127.0.0.1") -> str:
    """A Zenoh TCP endpoint on a free port."""
    return f"tcp/{host}:{free_port(host)}"
