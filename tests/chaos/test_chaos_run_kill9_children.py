"""Chaos: ``kill -9`` of ``emily run`` takes its child processes with it (issue 16, item 10).

The journal writes episodes from a child process (``ProcessEpisodic``), cognition samples in
another (``CognitionWorker``), and multiprocessing adds a resource tracker. They once outlived a
killed run for minutes (the writer with ~500 MB). Only the embedded FalkorDB server may stay: it
is left running on purpose and reused by the next run.

The run reads standard input from a pipe this test keeps open, so it is certainly still running
(waiting for more stimuli) when it is killed: no race against the end of a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from emily.core.settings import load_settings
from emily.memory._falkor_server import kill_server_hard

pytestmark = pytest.mark.slow

CLI = "from emily.cli.app import main; main()"


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.1)):
        if condition():
            return True
        pause.wait(0.1)
    return condition()


def _is_graph_server(process: psutil.Process) -> bool:
    try:
        return "redis-server" in process.name() or any(
            "redis-server" in part or "falkordb" in part for part in process.cmdline()[:1]
        )
    except psutil.Error:
        return False


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie is dead, awaiting its reaper
    except psutil.Error:
        return False


def _children(run: psutil.Process) -> list[psutil.Process]:
    try:
        return [p for p in run.children(recursive=True) if not _is_graph_server(p)]
    except psutil.Error:
        return []


def _workers(run: psutil.Process) -> int:
    """How many spawned Python workers (not the tracker) are up: the journal's graph writer,
    and cognition's sampler once its first batch is submitted."""
    count = 0
    for child in _children(run):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "multiprocessing" in command and "resource_tracker" not in command:
            count += 1
    return count


@pytest.mark.parametrize(
    ("options", "workers"),
    [(["--no-cognition"], 1), ([], 2)],
    ids=["journal-writer", "journal-writer-and-cognition-sampler"],
)
def test_kill9_of_emily_run_leaves_no_child_but_the_graph_server(
    tmp_path: Path, options: list[str], workers: int
) -> None:
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, "run", "-", *options, "--no-live"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert proc.stdin is not None
    run = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    try:
        for i in range(300):
            line = {"id": f"s{i}", "features": {"heat": i % 7, "size": i % 5}, "label": str(i % 2)}
            proc.stdin.write((json.dumps(line) + "\n").encode())
        proc.stdin.flush()  # and kept open: the run waits for more
        started = _wait_for(lambda: _workers(run) >= workers or proc.poll() is not None, 300)
        assert started, log.read_text(errors="replace")
        assert proc.poll() is None, log.read_text(errors="replace")
        children = _children(run)
        assert children, "no child process to check"

        proc.kill()
        proc.wait(timeout=60)

        gone = _wait_for(lambda: not any(_alive(p) for p in children), 60)
        left = [(p.pid, " ".join(p.cmdline())) for p in children if _alive(p)]
        assert gone, f"still running after the run was killed: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        proc.stdin.close()
        for child in children:
            if _alive(child):
                child.kill()
        kill_server_hard(load_settings().path("falkordb"))  # the reused server: not the test's
