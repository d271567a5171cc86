"""``benchmarks/dag_polish.py --quick --json`` runs end to end and its figures are consistent.

Figures are not judged (the benchmark reports them); this checks that every method ran on every
instance, that the polish series is read along one chain (its CPU grows with K, K = 0 costs
nothing), that the summary's means are the means of the rows it prints, and that the
at-least-as-good counts follow from the rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
BENCHMARK = ROOT / "benchmarks" / "dag_polish.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    cmd = [sys.executable, str(BENCHMARK), "--quick", "--json", "--seconds", "1", "--samples",
           "200", "--seed-list", "3,4", "--ks", "0,20,60", "--empty-ks", "20,60"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900)
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_every_method_ran_on_every_instance(figures: dict[str, Any]) -> None:
    assert figures["seeds"] == [3, 4]
    assert figures["instances"] == 2
    runs = {(r["method"], r["seed"]) for r in figures["rows"]}
    assert runs == {(m, s) for m in ("ours", "mcmc", "empty") for s in (3, 4)}
    for row in figures["rows"]:
        if row["method"] == "ours":
            assert row["steps"] > 0
            assert [p["k"] for p in row["series"]] == [0, 20, 60]
        if row["method"] == "empty":
            assert [p["k"] for p in row["series"]] == [20, 60]


def test_the_polish_series_is_one_chain_and_the_summary_its_mean(figures: dict[str, Any]) -> None:
    ours = [r for r in figures["rows"] if r["method"] == "ours"]
    mcmc = {r["seed"]: r["eshd"] for r in figures["rows"] if r["method"] == "mcmc"}
    for row in ours:
        cpu = [p["polish_cpu_s"] for p in row["series"]]
        assert cpu[0] < 0.01
        assert cpu == sorted(cpu)
        for point in row["series"]:
            assert 0.0 <= point["auroc"] <= 1.0
            assert point["eshd"] >= 0.0
    for i, k in enumerate(("0", "20", "60")):
        want = np.mean([r["series"][i]["eshd"] for r in ours])
        assert figures["ours"][k]["eshd"] == pytest.approx(want)
        wins = sum(r["series"][i]["eshd"] <= mcmc[r["seed"]] + 1e-9 for r in ours)
        assert figures["ours_at_least_as_good"][k] == wins
    assert figures["mcmc"]["eshd"] == pytest.approx(np.mean(list(mcmc.values())))
