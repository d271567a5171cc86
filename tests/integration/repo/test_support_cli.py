"""``_support.cli.run_emily`` answers as the console script does: the same status and streams.

The suite runs most CLI calls through it (forked warm instead of started cold), so it has to be
indistinguishable where the tests look: exit status, stdout, stderr, the environment and the
working folder the command sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from _support.cli import _join_threads_as_at_exit, run_emily


def _console_script(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("emily", path=str(Path(sys.executable).parent))
    assert executable is not None
    return subprocess.run(
        [executable, *args], capture_output=True, text=True, env=env, cwd=cwd, check=False,
        timeout=300,
    )  # fmt: skip


def test_a_refusal_has_the_console_scripts_status_and_streams(tmp_path: Path) -> None:
    env = {**os.environ, "EMILY_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    args = ("learn", "missing.csv")
    forked = run_emily(args, env=env, cwd=tmp_path)
    cold = _console_script(*args, env=env, cwd=tmp_path)
    assert forked.returncode == cold.returncode == 2
    assert (forked.stdout, forked.stderr) == (cold.stdout, cold.stderr)
    assert "missing.csv" in forked.stderr


def test_success_prints_on_stdout_and_exits_0(tmp_path: Path) -> None:
    done = run_emily(["version"], cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("emily-sovereign ")
    assert done.stderr == ""


def test_the_command_sees_the_environment_and_folder_it_was_given(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("seed = = 1\n", encoding="utf-8")
    env = {**os.environ, "EMILY_CONFIG": "bad.toml"}  # relative: found only from cwd
    done = run_emily(["learn", "train.csv"], env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "bad.toml: not valid TOML" in done.stdout + done.stderr
    assert os.environ.get("EMILY_CONFIG") != "bad.toml"  # the caller's environment is untouched


def test_the_forked_command_waits_for_its_threads_through_cpythons_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where ``threading._shutdown`` exists, the fork exits through it, as the interpreter does
    (a stand-in here: the real one would mark this test process's main thread as stopped)."""
    calls: list[str] = []
    monkeypatch.setattr(threading, "_shutdown", lambda: calls.append("shutdown"), raising=False)
    _join_threads_as_at_exit()
    assert calls == ["shutdown"]


def test_the_forked_command_waits_for_its_threads_without_the_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command's non-daemon thread (a writer flushing its queue) still finishes before the fork
    exits on a Python without the private hook."""
    monkeypatch.delattr(threading, "_shutdown", raising=False)
    finished = threading.Event()

    def writer() -> None:
        time.sleep(0.3)
        finished.set()

    thread = threading.Thread(target=writer, daemon=False)
    # Only this test's thread is seen: this runs in the test worker, where a thread another test
    # left running (a server's, a store's) would be joined too and hang the worker.
    seen = [threading.main_thread(), thread]
    monkeypatch.setattr(threading, "enumerate", lambda: list(seen))
    thread.start()
    _join_threads_as_at_exit()
    assert finished.is_set()
