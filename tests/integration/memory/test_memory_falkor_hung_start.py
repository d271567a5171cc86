"""A FalkorDB server that hangs at start is killed and started again, never waited on forever.

In a clean-clone CI run a server logged "Done loading RDB base file", then held every connection
unanswered at 0 % CPU; the start read each socket timeout as "still loading" and ``emily backup``
hung for 900 s. A stopped process (SIGSTOP) is that state: it accepts connections (the kernel
queues them) and answers none, using no CPU.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from emily.memory._falkor_server import EmbeddedFalkorDB, ServerAddress, _answer, _HungAtStartError
from emily.memory.errors import StoreUnavailableError


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_silent_idle_server_is_killed_not_waited_for(tmp_path: Path) -> None:
    server = EmbeddedFalkorDB(tmp_path / "falkordb")
    address = server.start()
    os.kill(address.pid, signal.SIGSTOP)
    with pytest.raises(_HungAtStartError, match="silent and idle"):
        server._wait_ready(address, timeout_s=1.0)
    assert not _alive(address.pid)
    assert not server.owned


def test_a_hung_start_is_retried_once_then_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []

    def hangs(self: EmbeddedFalkorDB, timeout_s: float) -> ServerAddress:
        calls.append(timeout_s)
        raise _HungAtStartError("silent and idle for 1.0 s (pid 1)")

    monkeypatch.setattr(EmbeddedFalkorDB, "_spawn_once", hangs)
    with pytest.raises(StoreUnavailableError, match="hung at start 2 times"):
        EmbeddedFalkorDB(tmp_path / "falkordb").start(timeout_s=1.0)
    assert calls == [1.0, 1.0]


def test_a_start_that_hangs_once_gets_a_working_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = EmbeddedFalkorDB._spawn_once
    hung: list[int] = []

    def first_hangs(self: EmbeddedFalkorDB, timeout_s: float) -> ServerAddress:
        address = real(self, timeout_s)
        if not hung:  # the first server stops answering before anyone used it
            hung.append(address.pid)
            os.kill(address.pid, signal.SIGSTOP)
            self._wait_ready(address, timeout_s=1.0)
        return address

    monkeypatch.setattr(EmbeddedFalkorDB, "_spawn_once", first_hangs)
    server = EmbeddedFalkorDB(tmp_path / "falkordb")
    address = server.start(timeout_s=10.0)
    try:
        assert _answer(address) == "ready"
        assert address.pid != hung[0]
        assert not _alive(hung[0])
    finally:
        server.stop()
