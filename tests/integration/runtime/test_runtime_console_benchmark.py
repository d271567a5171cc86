"""``benchmarks/console_overhead.py --json`` runs end to end and ends with its JSON line.

Figures are not judged here (they come from the benchmark itself, on a quiet machine); this
checks the keys, the conditions it reports and that the viewers really received frames.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "console_overhead.py"
KEYS = ("off_p50_us", "off_p99_us", "on_p50_us", "on_p99_us", "ratio_p50", "ratio_p99")


@pytest.mark.slow
def test_console_overhead_benchmark_prints_its_figures_and_conditions_last() -> None:
    args = ["--quick", "--json", "--seconds", "0.5", "--seeds", "2", "--repeats", "1"]
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), *args, "--viewers", "2", "--rate", "10"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]  # the benchmark's own traceback
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert isinstance(figures[key], float), key
        assert figures[key] > 0, key
    assert (figures["viewers"], figures["rate_hz"], figures["seeds"]) == (2, 10.0, 2)
    assert len(figures["pairs"]) == 2
    assert [p["order"] for p in figures["pairs"]] == [["off", "on"], ["on", "off"]]
    assert figures["streamed"]
    assert all(p["frames_built"] > 0 for p in figures["pairs"])
    # The console's own CPU: serving two viewers at 10 Hz takes CPU outside the loop's thread,
    # and the share is the difference of the two conditions' measured shares.
    assert figures["on_side_cpu_share"] > figures["off_side_cpu_share"] >= 0
    share = figures["on_side_cpu_share"] - figures["off_side_cpu_share"]
    assert figures["console_cpu_share"] == pytest.approx(share)
