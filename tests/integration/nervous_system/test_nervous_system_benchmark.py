"""``benchmarks/alpha_gate.py --quick --json`` runs and ends with its JSON line (figures unjudged:
numbers come from the benchmark itself, never from a timed unit test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "alpha_gate.py"


def test_quick_benchmark_prints_its_figures_as_the_last_line() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("signals_per_s", "call_p50_us", "call_p99_us"):
        assert figures[key] > 0
    assert figures["budget_ms"] == 50.0
    assert (figures["quick"], figures["signals"]) == (True, 1_000_000)
