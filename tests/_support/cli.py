"""Run the ``emily`` CLI in a fresh process forked from a warm interpreter.

Why: an ``emily`` subprocess spends 0.4–6 s importing (torch, MLflow, LanceDB, pandas) before it
reads its first argument, and the suite runs the CLI hundreds of times on two cores. Python's
``forkserver`` imports those modules once per test worker and forks a process per call: a real
process with its own argv, environment, working folder, standard streams and exit status, running
the console script's entry point (``emily.cli.app:main``) and exiting as the interpreter would
(non-daemon threads joined, ``atexit`` run). What it cannot stand in for, tests keep as real
subprocesses: start-up itself (``emily --help``'s imports), the installed console script, a wheel
venv, signals sent to ``emily`` by pid.
"""

from __future__ import annotations

import atexit
import functools
import gc
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path

# Imported once in the fork server: what the commands the suite runs most load before working.
PRELOAD = (
    "emily.cli.app",
    "emily.runtime",
    "emily.memory",
    "emily.instinct",
    "emily.cognition.envs.base",
    "torch",
    "numpy",
    "pandas",
    "mlflow",
    "falkordb",
    "sklearn.datasets",
    "matplotlib.pyplot",
    # LanceDB's dependencies, not LanceDB: it starts an event-loop thread at import, which a
    # fork would lose (it restarts one in the child, warning that this is experimental); the
    # command imports LanceDB itself in 0.2 s instead of 1.5-3 s
    "lance_namespace",
    "pyarrow.dataset",
    "faiss",  # the reflex store's kernel
    "mlflow.store.tracking.sqlalchemy_store",  # `emily models ...`, the registry (0.8-2 s)
    "torch._dynamo",  # `emily train`, `emily sample` (1.2-2.8 s)
)


@functools.cache
def _forkserver() -> ForkServerContext:
    """This process's fork server (started on the first call, then reused)."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _exit_code(error: SystemExit) -> int:
    """What the interpreter makes of ``SystemExit(code)`` (a message goes to stderr, status 1)."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)
    return 1


def _stop_coverage() -> None:
    """coverage.py, when it measures the suite, starts in every multiprocessing child; a CLI
    call is measured no more than the subprocess it stands in for (tracing a training run
    line by line would cost several times the run)."""
    try:
        import coverage
    except ImportError:
        return
    current = coverage.Coverage.current()
    if current is not None:
        current.stop()
        atexit.unregister(current._atexit)  # nothing to save, and no "no data" warning on stderr


def _child(argv: list[str], env: dict[str, str], cwd: str, streams: tuple[str, str, str]) -> None:
    """The forked process: become ``emily ARGV`` in ``cwd`` with ``env``, then exit like it."""
    # What the fork server imported moves to the collector's permanent generation (an O(1)
    # splice): the command's full collections then walk only its own objects, not the preloaded
    # heap (torch, MLflow, pandas), which cost 0.3 s of CPU each and copied most of the
    # parent's pages. Those objects live as long as the process either way.
    gc.freeze()
    _stop_coverage()
    for fd, (path, flags) in enumerate(
        zip(streams, (os.O_RDONLY, os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_TRUNC), strict=True)
    ):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (multiprocessing closed the inherited one)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["emily", *argv]
    code = 0
    try:
        from emily.cli.app import main

        main()
    except SystemExit as error:
        code = _exit_code(error)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        _join_threads_as_at_exit()
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # coverage, stopped above, has nothing to save


def _join_threads_as_at_exit() -> None:
    """Wait for non-daemon threads as interpreter exit does (CPython's private
    ``threading._shutdown``; by hand where a Python lacks it, rather than skip the wait)."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
        return
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def run_emily(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str = "",
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(["emily", *args], capture_output=True, text=True)``, forked warm.

    ``env`` is the whole environment (default: this process's); a call past ``timeout`` is killed
    and raises ``subprocess.TimeoutExpired`` with what it had printed.
    """
    argv = [str(a) for a in args]
    with tempfile.TemporaryDirectory(prefix="emily-cli-") as scratch:
        stdin, stdout, stderr = (os.path.join(scratch, n) for n in ("in", "out", "err"))
        Path(stdin).write_text(input, encoding="utf-8")
        Path(stdout).touch()
        Path(stderr).touch()
        process = _forkserver().Process(
            target=_child,
            args=(
                argv,
                dict(os.environ if env is None else env),
                str(cwd or os.getcwd()),
                (stdin, stdout, stderr),
            ),
        )
        process.start()
        process.join(timeout)
        out = Path(stdout).read_text(encoding="utf-8", errors="replace")
        err = Path(stderr).read_text(encoding="utf-8", errors="replace")
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["emily", *argv], timeout, out, err)
        code = process.exitcode
        process.close()
    return subprocess.CompletedProcess(["emily", *argv], code, out, err)
