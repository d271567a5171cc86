"""``benchmarks/cognition_device.py``: the device-path benchmark runs here (CPU only, as in CI) and
its verdicts follow from its figures.

No GPU is in CI, so the GPU rows are measured where one is lent; what can be checked here is
that the CPU side runs end to end with real graphs, that a GPU row missing says so (``null``
goals, never a pass), and that the agreement verdict fails when the devices disagree or a
graph is cyclic and the memory verdict fails above the bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from _support.modules import load_script

ROOT = Path(__file__).resolve().parents[3]
BENCHMARK = ROOT / "benchmarks" / "cognition_device.py"

pytestmark = pytest.mark.slow


def load_benchmark() -> ModuleType:
    return load_script(BENCHMARK, "cognition_device")


def gpu_row(**changes: Any) -> dict[str, Any]:
    row = {"device": "cuda", "d": 50, "peak_mb": 646.0, "acyclic": True,
           "max_rel_log_pf_diff": 1.6e-6, "max_abs_log_reward_diff": 3e-11}  # fmt: skip
    return {**row, **changes}


def test_the_cpu_side_runs_and_reports_no_gpu_verdict() -> None:
    cmd = [sys.executable, str(BENCHMARK), "--quick", "--json", "--devices", "cpu",
           "--dims", "6", "--steps", "2", "--samples", "64", "--threads", "1"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    (row,) = figures["configs"]
    assert "error" not in row, row
    assert (row["device"], row["d"], row["threads"]) == ("cpu", 6, 1)
    assert row["acyclic"] is True
    assert row["train_steps_per_s"] > 0
    assert row["generate_per_s"] > 0
    assert figures["goals"] == {
        "gpu_ran": False,
        "gpu_d50_within_4gb": None,
        "gpu_agrees_with_cpu": None,
    }


def test_verdicts_follow_the_gpu_figures() -> None:
    bench = load_benchmark()
    assert bench.goals([gpu_row()]) == {
        "gpu_ran": True,
        "gpu_d50_within_4gb": True,
        "gpu_agrees_with_cpu": True,
    }
    assert bench.goals([gpu_row(peak_mb=5000.0)])["gpu_d50_within_4gb"] is False
    assert bench.goals([gpu_row(max_rel_log_pf_diff=1e-3)])["gpu_agrees_with_cpu"] is False
    assert bench.goals([gpu_row(max_abs_log_reward_diff=1e-3)])["gpu_agrees_with_cpu"] is False
    assert bench.goals([gpu_row(acyclic=False)])["gpu_agrees_with_cpu"] is False
    failed = bench.goals([gpu_row(), {"device": "cuda", "d": 20, "error": "boom"}])
    assert failed["gpu_ran"] is False
