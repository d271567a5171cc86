"""Benchmark: what a Python process pays to import the heavy stack without a bytecode cache.

Why: the suite (and a user's shell) may run with ``PYTHONDONTWRITEBYTECODE`` set, and ``uv``
installs packages without compiling them; then no ``.pyc`` is ever written and every process
that imports torch, MLflow or pandas compiles them from source again. The suite starts hundreds
of such processes (CLI calls, DVC stages, servers, benchmark workers), so ``scripts/test.sh``
lets Python cache bytecode. This measures the difference it buys, per process.

Measured, each in a fresh child process of this interpreter, ``--runs`` times per condition:
CPU seconds (user + system, ``os.wait4``) of ``python -c "import MODULES"``

* ``no_cache``: ``PYTHONDONTWRITEBYTECODE=1`` and an empty ``PYTHONPYCACHEPREFIX`` folder, so
  nothing cached is read and nothing is written (the venv's own ``__pycache__`` folders are
  not read under a prefix either);
* ``cached``: the same prefix folder after one warm-up process wrote it.

Reproduce:
    .venv/bin/python benchmarks/bytecode_cache.py --json
    .venv/bin/python benchmarks/bytecode_cache.py --modules json,email --runs 1 --json

Progress goes to stderr; with ``--json`` the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from typing import Any


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--modules",
        default="torch,mlflow,pandas",
        help="comma-separated modules the child imports (default: torch,mlflow,pandas)",
    )
    parser.add_argument("--runs", type=int, default=3, help="processes per condition (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not all(m.strip() for m in args.modules.split(",")):
        parser.error(f"--modules must name modules separated by commas, got {args.modules!r}")
    return args


def import_cpu_s(modules: list[str], prefix: str, write: bool) -> float:
    """CPU seconds of one child process that imports ``modules``."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": prefix}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    code = "import " + ", ".join(modules)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bytecode_cache: `python -c {code!r}` exited {proc.returncode}")
    return float(usage.ru_utime + usage.ru_stime)


def main() -> None:
    args = parse_args()
    modules = [m.strip() for m in args.modules.split(",")]
    with tempfile.TemporaryDirectory(prefix="emily-pycache-") as empty:
        no_cache = [import_cpu_s(modules, empty, write=False) for _ in range(args.runs)]
        print(f"no cache: {no_cache}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="emily-pycache-") as prefix:
        warm_up = import_cpu_s(modules, prefix, write=True)
        cached = [import_cpu_s(modules, prefix, write=False) for _ in range(args.runs)]
        print(f"warm-up (writes the cache): {warm_up:.2f}; cached: {cached}", file=sys.stderr)
    result: dict[str, Any] = {
        "benchmark": "bytecode_cache",
        "modules": modules,
        "runs": args.runs,
        "import_cpu_s_no_cache_median": statistics.median(no_cache),
        "import_cpu_s_cached_median": statistics.median(cached),
        "import_cpu_s_first_write": warm_up,
        "no_cache_over_cached": statistics.median(no_cache) / max(statistics.median(cached), 1e-9),
        "conditions": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0],
        },
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
