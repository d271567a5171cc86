"""``benchmarks/startup.py --runs 1 --json`` runs end to end and ends with its JSON line.

Timings are not judged here (numbers come from the benchmark itself, never from a timed test);
this checks every command line was timed, the figures are what they claim to be (seconds and
mebibytes are positive, min <= median), and that the heavy-module count agrees with its list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "startup.py"
COMMAND_LINES = {"help", "version", "run_help", "serve_help", "train_help"}


@pytest.mark.slow
def test_startup_benchmark_prints_every_figure_last() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["runs"] == 1
    assert figures["goal_s"] == 1.0
    assert set(figures["commands"]) == COMMAND_LINES
    for row in figures["commands"].values():
        assert 0 < row["min_s"] <= row["median_s"]
        assert row["peak_rss_mib"] > 0
    assert figures["import_us"] > 0
    assert figures["modules"] > 0
    assert figures["heavy_count"] == len(figures["heavy_modules"])
    assert isinstance(figures["goal_met"], bool)
    assert {"python", "cpus", "load_average_1m"} <= set(figures["conditions"])
