"""Benchmark: what each workflow engine costs a command before any work is done (ADR 0017).

Why: ``emily ingest`` runs a Prefect flow and ``emily sleep`` a DBOS workflow. Without a
Prefect server (``PREFECT_API_URL`` unset) Prefect 3 starts a temporary local API for the
process's first flow run; DBOS is a library recording steps in a SQLite (or PostgreSQL) file.
This measures, each in a fresh process with its own temporary home and ``--runs`` times:
importing the engine, the first trivial flow/workflow (Prefect: temporary server start
included; DBOS: launch of its system database included) on a new home and again in a second
process on the same home, and a second flow/workflow in the same process.

Reproduce:
    .venv/bin/python benchmarks/workflow_engines.py --json            # 3 runs each
    .venv/bin/python benchmarks/workflow_engines.py --runs 1 --json

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

PREFECT = """
import json, time
t0 = time.perf_counter()
from prefect import flow
t1 = time.perf_counter()

@flow
def trivial(x: int) -> int:
    return x + 1

trivial(1)
t2 = time.perf_counter()
trivial(2)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}))
"""

DBOS_CODE = """
import json, os, time
t0 = time.perf_counter()
from dbos import DBOS
t1 = time.perf_counter()
DBOS(config={"name": "bench", "system_database_url":
             "sqlite:///" + os.path.join(os.environ["BENCH_HOME"], "system.sqlite")})

@DBOS.step()
def step(x: int) -> int:
    return x + 1

@DBOS.workflow()
def trivial(x: int) -> int:
    return step(x)

DBOS.launch()
trivial(1)
t2 = time.perf_counter()
trivial(2)
t3 = time.perf_counter()
DBOS.destroy()
print(json.dumps({"import_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per engine")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    return parser.parse_args()


def _once(code: str, home: str) -> dict[str, float]:
    env = {
        **os.environ,
        "PREFECT_HOME": home,
        "BENCH_HOME": home,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # as emily ingest sets it
    }
    env.pop("PREFECT_API_URL", None)  # the default: no server configured
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
        check=True,
    )  # fmt: skip
    times: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def measure(code: str, runs: int) -> dict[str, float]:
    """Min and median of each phase over ``runs`` homes: a first process on a new home, then a
    second process on the same home (``warm_first``: the engine's database already exists, as
    for every ``emily`` command after the first in one ``EMILY_HOME``)."""
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="emily-bench-wf-") as home:
            cold = _once(code, home)
            cold["warm_first_s"] = _once(code, home)["first_s"]
        samples.append(cold)
        print(f"  {samples[-1]}", file=sys.stderr)
    out: dict[str, float] = {}
    for phase in ("import_s", "first_s", "second_s", "warm_first_s"):
        values = [s[phase] for s in samples]
        out[f"{phase[:-2]}_min_s"] = round(min(values), 3)
        out[f"{phase[:-2]}_median_s"] = round(statistics.median(values), 3)
    return out


def main() -> None:
    args = parse_args()
    print("prefect (no PREFECT_API_URL: a temporary local API for the first flow)", file=sys.stderr)
    prefect = measure(PREFECT, args.runs)
    print("dbos (SQLite system database)", file=sys.stderr)
    dbos = measure(DBOS_CODE, args.runs)
    result: dict[str, Any] = {
        "benchmark": "workflow_engines",
        "runs": args.runs,
        "load_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **{f"prefect_{k}": v for k, v in prefect.items()},
        **{f"dbos_{k}": v for k, v in dbos.items()},
    }
    for name, phases in (("prefect", prefect), ("dbos", dbos)):
        print(
            f"{name:8s} import {phases['import_min_s']:.2f} s, first run "
            f"{phases['first_min_s']:.2f} s (new home) / {phases['warm_first_min_s']:.2f} s "
            f"(existing home), second {phases['second_min_s']:.2f} s (min)",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
