"""``benchmarks/recovery.py --quick --sizes 200 --json`` runs end to end and ends with its line.

Figures are not judged (numbers come from the benchmark, never from a timed test); this checks
the keys, the counts the benchmark verifies itself, and that the killed sleep resumed to the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "recovery.py"


@pytest.mark.slow
def test_recovery_benchmark_quick_prints_every_figure_last() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--sizes", "200", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for store in ("episodic", "semantic", "reflexes", "outbox"):
        assert figures[f"reopen_{store}_s_200"] > 0, store
    assert figures["counts_match"] is True
    assert figures["sleep_resume_complete"] is True
    assert figures["sleep_resume_s"] > 0
    assert figures["sleep_episodes"] == 200
    assert figures["quick"] is True
