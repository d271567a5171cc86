"""Benchmark: how fast ``emily`` starts for help and ``version`` (issue #19 item 3: under 1 s).

Why: a researcher types ``emily --help`` or ``emily COMMAND --help`` far more often than any
command runs; if the CLI imports torch, MLflow, LanceDB and the API stack up front, every one
of those costs seconds and hundreds of megabytes. The heavy engines belong to the commands
that use them, so printing help must load none of them.

Measured, each in a fresh process started the way a user starts it (the ``emily`` console
script beside this interpreter), ``--runs`` times per command line: wall seconds from start to
exit (min and median: on a loaded machine the minimum is the figure to compare) and peak
resident memory of that process alone (``os.wait4``'s ``ru_maxrss``; max over runs). Then,
also in fresh processes: the import-time profile of ``import emily.cli.app``
(``python -X importtime``: the sum of the top-level cumulative microseconds, min over runs),
how many modules that import leaves in ``sys.modules``, and which heavy packages among them.

Reproduce:
    .venv/bin/python benchmarks/startup.py --json           # 10 runs per command line
    .venv/bin/python benchmarks/startup.py --quick --json   # 3 runs per command line

Progress goes to stderr; with ``--json`` the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GOAL_S = 1.0
"""Issue #19 item 3: ``emily --help`` and ``emily version`` start in under a second."""

COMMAND_LINES: dict[str, list[str]] = {
    "help": ["--help"],
    "version": ["version"],
    "run_help": ["run", "--help"],
    "serve_help": ["serve", "--help"],
    "train_help": ["train", "--help"],
}
"""What is timed: the two the goal names, and the help of commands whose work is heaviest
(the runtime, the API server, GFlowNet training)."""

HEAVY = (
    "torch", "mlflow", "lancedb", "lance", "fastapi", "starlette", "uvicorn", "httpx", "pandas",
    "numpy", "pyarrow", "scipy", "sklearn", "matplotlib", "prefect", "dbos", "sqlalchemy",
    "falkordb", "redis", "zenoh", "feast", "sentence_transformers",
)  # fmt: skip
"""Top-level packages that importing the CLI should not load (as tests/unit/cli checks)."""

MODULES = "import json, sys, emily.cli.app; print(json.dumps(sorted(sys.modules)))"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, help="fresh processes per command line (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 runs per command line")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    return parser.parse_args()


def emily_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m emily``."""
    script = shutil.which("emily", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "emily"]


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen.wait
    errors = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}: {errors[-500:]}")
    rss_mib = usage.ru_maxrss / 1024  # kilobytes on Linux
    return elapsed, rss_mib


def time_command(args: list[str], runs: int) -> dict[str, float]:
    """Min and median wall seconds and the largest peak RSS over ``runs`` fresh processes."""
    samples = [run_once([*emily_command(), *args]) for _ in range(runs)]
    walls = [wall for wall, _ in samples]
    return {
        "min_s": min(walls),
        "median_s": statistics.median(walls),
        "peak_rss_mib": max(rss for _, rss in samples),
    }


def import_microseconds() -> int:
    """Sum of the top-level cumulative times of ``python -X importtime -c 'import …app'``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import emily.cli.app"],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  "):  # one leading space: imported at top level
            total += int(cumulative)
    return total


def loaded_modules() -> list[str]:
    """Every module in ``sys.modules`` after ``import emily.cli.app`` in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", MODULES], capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def conditions() -> dict[str, Any]:
    """What the figures depend on: the machine, its load, the interpreter."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "machine": platform.machine(),
    }


def main() -> None:
    args = parse_args()
    runs = args.runs or (3 if args.quick else 10)
    figures: dict[str, Any] = {"runs": runs, "quick": args.quick, "goal_s": GOAL_S}
    commands: dict[str, dict[str, float]] = {}
    for key, command_line in COMMAND_LINES.items():
        print(f"emily {' '.join(command_line)}: {runs} runs", file=sys.stderr, flush=True)
        commands[key] = time_command(command_line, runs)
    figures["commands"] = commands
    figures["import_us"] = min(import_microseconds() for _ in range(runs))
    modules = loaded_modules()
    heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    figures.update(modules=len(modules), heavy_modules=heavy, heavy_count=len(heavy))
    figures["goal_met"] = all(commands[k]["min_s"] < GOAL_S for k in ("help", "version"))
    figures["conditions"] = conditions()
    for key, row in commands.items():
        print(
            f"{key:12s} min {row['min_s']:.2f} s  median {row['median_s']:.2f} s  "
            f"peak RSS {row['peak_rss_mib']:.0f} MiB"
        )
    print(
        f"import emily.cli.app: {figures['import_us'] / 1e6:.2f} s cumulative, "
        f"{len(modules)} modules, heavy: {', '.join(heavy) or 'none'}"
    )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
