"""``benchmarks/memory.py`` runs end to end at small sizes and ends with its JSON line.

Figures are not judged (numbers come from the benchmark, never from a timed test); this checks
that every key names what was measured: consolidation at the size it ran (no scaled key),
recording through the semantic stimulus index (its rows are counted in LanceDB), and one
recall key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "memory.py"
KEYS = (
    "episodes_per_s", "graph_episodes_per_s", "consolidate_s", "search_p50_ms", "search_p99_ms",
    "search_recall_at_10",
)  # fmt: skip
GONE = ("consolidate_100k_s", "consolidate_extrapolated", "recall_at_10")


@pytest.mark.slow
def test_memory_benchmark_keys_name_what_was_measured() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--json", "--episodes", "2000",
         "--consolidate", "500", "--vectors", "3000", "--queries", "20"],
        capture_output=True, text=True, check=True, timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert figures[key] > 0, key
    for key in GONE:
        assert key not in figures, key
    assert figures["record_episodes"] == 2000
    # 1 % distinct stimulus texts; each must have been written to the semantic index.
    assert figures["record_distinct_stimuli"] == 20
    assert figures["stimuli_indexed"] == 20
    assert figures["consolidate_episodes"] == 500
    assert figures["search_vectors"] == 3000
    assert figures["quick"] is True
