"""``FeastRunner``: Feast operations run in the isolated Feast environment, by one runner process.

Why another process: Feast 0.67 cannot be installed beside the main environment's redis-py 8
and pandas 3 (ADR 0010), so the packaged ``feature_store/runner.py`` runs under
``.venv-feast/bin/python``. Why one process for many calls: importing Feast costs 3-7 s of CPU,
which a process per call paid again for every apply, materialize, get and status. A
``FeastRunner`` starts ``runner.py serve`` on its first call and sends it every later call as
one JSON line on its stdin, reading one JSON line back (the protocol is in ``runner.py``'s
docstring), so a command that makes several calls pays Feast's start-up once. Close the
runner (``close()``, or ``with FeastRunner(config) as feast:``) to stop the process; a runner
that is never closed stops its process when it is garbage-collected, and the process exits by
itself when Emily does (its stdin closes).

A failed command comes back as a ``FeatureStoreError`` naming the command and the end of
Feast's traceback, and the process serves on. A process found dead before a call (killed, or
stopped by an earlier failure) is replaced once for that call; one that dies during a call, or
does not answer within ``timeout_s``, is reported (exit status and the end of its stderr) and
replaced by the next call. The runtime's hot path never comes here: it reads the online store
directly (``emily.ops.features.OnlineFeatures``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from emily.core import EmilyError, InputError
from emily.core.closing import Closing
from emily.ops.features._config import FeatureStoreConfig, render_repo

log = logging.getLogger(__name__)

STDERR_LINES = 8  # the tail of the runner's stderr a failure message quotes
_STOP_WAIT_S = 10.0  # how long close() lets the process exit on its own before killing it


class FeatureStoreError(EmilyError):
    """Feast failed, or its environment is missing; the message says how to fix it."""


class _Process:
    """One ``runner.py serve`` process, with threads draining its stdout and stderr."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=env,
        )
        assert self.popen.stdout is not None
        assert self.popen.stderr is not None
        self.replies: queue.Queue[str | None] = queue.Queue()  # None: stdout ended
        self.stderr: deque[str] = deque(maxlen=200)  # Feast's progress and warnings, drained
        self._threads = [
            threading.Thread(
                target=_drain, args=(self.popen.stdout, self.replies.put, True), daemon=True,
                name=f"feast-runner-{self.popen.pid}-stdout",
            ),
            threading.Thread(
                target=_drain, args=(self.popen.stderr, self.stderr.append, False), daemon=True,
                name=f"feast-runner-{self.popen.pid}-stderr",
            ),
        ]  # fmt: skip
        for thread in self._threads:
            thread.start()
        self._finalizer = weakref.finalize(self, _stop, self.popen, self._threads, 0.0)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, line: str) -> None:
        """Write one request line; ``OSError`` (a broken pipe) when the process has gone."""
        stdin = self.popen.stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def exit_status(self, wait_s: float = 5.0) -> int | None:
        """The exit status, waiting up to ``wait_s`` for an exit already under way."""
        try:
            return self.popen.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return None

    def stderr_tail(self) -> str:
        for thread in self._threads[1:]:
            thread.join(timeout=2.0)  # the process is gone or going: let stderr finish
        lines = [line.rstrip() for line in self.stderr if line.strip()]
        return "\n".join(lines[-STDERR_LINES:]) or "(nothing on stderr)"

    def stop(self, wait_s: float = _STOP_WAIT_S) -> None:
        self._finalizer.detach()
        _stop(self.popen, self._threads, wait_s)


def _drain(stream: IO[str], sink: Callable[[Any], None], mark_end: bool) -> None:
    """Hand each line of ``stream`` to ``sink`` (a full pipe would stall the runner), then
    ``None`` when ``mark_end``: the reader of replies then knows the process has gone."""
    try:
        for line in stream:
            sink(line)
    except (OSError, ValueError):  # the pipe was closed under us: the process is being stopped
        pass
    finally:
        if mark_end:
            sink(None)


def _stop(popen: subprocess.Popen[str], threads: list[threading.Thread], wait_s: float) -> None:
    """Close stdin (the runner exits at end of input), then kill it if it does not exit."""
    if popen.stdin is not None:
        with contextlib.suppress(OSError):  # already broken: the process is gone
            popen.stdin.close()
    if popen.poll() is None:
        try:
            popen.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    for thread, stream in zip(threads, (popen.stdout, popen.stderr), strict=True):
        thread.join(timeout=2.0)
        if stream is not None and not thread.is_alive():  # a read in progress holds its lock
            stream.close()


class FeastRunner(Closing):
    """Feast commands for one feature store configuration, through one runner process.

    Not started until the first call; use it as a context manager (or call ``close()``) so
    the process stops when the caller is done. Calls are serialised: one at a time.
    """

    def __init__(self, config: FeatureStoreConfig, *, timeout_s: float = 600.0) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self._process: _Process | None = None
        self._lock = threading.Lock()
        self._next_id = 0

    @property
    def pid(self) -> int | None:
        """The runner process's id while one runs (``None`` before the first call)."""
        process = self._process
        return process.pid if process is not None and process.alive() else None

    def close(self) -> None:
        """Stop the runner process (it exits when its stdin closes); idempotent."""
        with self._lock:
            if self._process is not None:
                self._process.stop()
                self._process = None

    def _start(self) -> _Process:
        python = Path(self.config.feast_python)
        if not python.is_file():
            raise FeatureStoreError(
                f"the Feast environment is missing ({python}); create it with "
                "`bash scripts/setup_feast.sh` (ADR 0010)"
            )
        repo = render_repo(self.config)
        runner = Path(self.config.infra_dir) / "runner.py"
        env = {
            **os.environ,
            "EMILY_FEATURES_SOURCE": self.config.source,
            "FEAST_USAGE": "False",  # no telemetry: nothing leaves the machine
            "PYTHONWARNINGS": "ignore",
        }
        try:
            return _Process([str(python), str(runner), "serve", "--repo", str(repo)], env)
        except OSError as exc:
            raise FeatureStoreError(f"cannot start the Feast runner {python}: {exc}") from exc

    def _send(self, command: str, line: str) -> _Process:
        """Send ``line`` to a live process: the current one, or a new one once if it died."""
        process = self._process
        if process is not None and process.alive():
            try:
                process.send(line)
            except OSError:
                pass  # it died just now, before reading the request: start another, once
            else:
                return process
        if process is not None:
            process.stop(wait_s=0.0)
            log.warning(
                "the Feast runner (pid %d) had exited (status %s) before `feast %s`; starting "
                "a new one. Its stderr ended:\n%s",
                process.pid, process.popen.returncode, command, process.stderr_tail(),
            )  # fmt: skip
        self._process = process = self._start()
        try:
            process.send(line)
        except OSError as exc:
            self._process = None
            status = process.exit_status()
            process.stop(wait_s=0.0)
            raise FeatureStoreError(
                f"feast {command} failed: the Feast runner exited (status {status}) before "
                f"reading the request ({exc}):\n{process.stderr_tail()}"
            ) from exc
        return process

    def _fail(self, process: _Process, message: str) -> FeatureStoreError:
        """Stop a process that died, hung or broke the protocol; the error to raise."""
        self._process = None
        process.stop(wait_s=0.0)
        return FeatureStoreError(f"{message}:\n{process.stderr_tail()}")

    def _run(self, command: str, **params: Any) -> Any:
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            line = json.dumps({"id": request_id, "command": command, "params": params}, default=str)
            process = self._send(command, line)
            try:
                reply_line = process.replies.get(timeout=self.timeout_s)
            except queue.Empty:
                raise self._fail(
                    process,
                    f"feast {command} timed out after {self.timeout_s:g} s; the Feast runner "
                    f"(pid {process.pid}) was stopped and the next call starts a new one",
                ) from None
            except BaseException:  # interrupted: its late reply must not answer the next call
                self._fail(process, f"feast {command} interrupted")
                raise
            if reply_line is None:
                status = process.exit_status()
                raise self._fail(
                    process,
                    f"feast {command} failed: the Feast runner (pid {process.pid}) exited "
                    f"(status {status}) during the call; the next call starts a new one",
                )
            try:
                reply = json.loads(reply_line)
                if not isinstance(reply, dict) or reply.get("id") != request_id:
                    raise ValueError(f"expected the reply to request {request_id}")
            except ValueError as exc:
                raise self._fail(
                    process,
                    f"feast {command} failed: the Feast runner answered "
                    f"{reply_line.strip()[:200]!r} ({exc})",
                ) from None
            if not reply.get("ok"):
                if reply.get("fatal"):  # it could not open the store and is exiting
                    self._process = None
                    process.stop()
                raise FeatureStoreError(_describe(command, reply.get("error")))
            return reply.get("result")

    def apply(self) -> dict[str, Any]:
        """Register the entity and feature views (``feast apply``)."""
        if not Path(self.config.source).is_file():
            raise InputError(
                f"no offline features at {self.config.source}; run `dvc repro prepare` "
                "(or `python -m emily.ops.lineage.prepare`) first"
            )
        result: dict[str, Any] = self._run("apply")
        return result

    def materialize(self, end: datetime, start: datetime | None = None) -> dict[str, Any]:
        """Copy offline features into the online store, incrementally unless ``start`` given."""
        if start is None:
            result: dict[str, Any] = self._run("materialize", end=end.isoformat(), incremental=True)
        else:
            result = self._run("materialize", end=end.isoformat(), start=start.isoformat())
        return result

    def get(self, episode_ids: Sequence[str]) -> dict[str, list[Any]]:
        """``get_online_features`` through Feast (columns: episode_id and each feature)."""
        result: dict[str, list[Any]] = self._run("get", ids=_ids(episode_ids))
        return result

    def write(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """``write_to_online_store`` through Feast (rows with event_timestamp as ISO text)."""
        result: dict[str, Any] = self._run("write", rows=list(rows))
        return result

    def bench(self, episode_ids: Sequence[str], calls: int) -> dict[str, float]:
        """Per-call latency of Feast's ``get_online_features``, timed inside the Feast process."""
        result: dict[str, float] = self._run("bench", ids=_ids(episode_ids), calls=calls)
        return result

    def status(self) -> dict[str, Any]:
        """Project, store types and registered feature views."""
        result: dict[str, Any] = self._run("status")
        return result


def _describe(command: str, error: Any) -> str:
    """The message of a command's failure, from the runner's error object."""
    if not isinstance(error, dict):
        return f"feast {command} failed: the Feast runner gave no reason ({error!r})"
    tail = str(error.get("traceback") or f"{error.get('type')}: {error.get('message')}")
    return f"feast {command} failed ({error.get('type', 'error')}):\n{tail}"


def _ids(episode_ids: Sequence[str]) -> list[str]:
    if (
        isinstance(episode_ids, str)
        or not episode_ids
        or any("," in i or not i for i in episode_ids)
    ):
        raise InputError(f"episode ids must be non-empty and comma-free, got {episode_ids!r}")
    return list(episode_ids)
