"""``benchmarks/reflex_lookup.py`` runs end to end at toy sizes and ends with its JSON line.

Figures are not judged here (numbers come from the benchmark itself, never from a timed test);
this checks the keys the issue asks for, that our exact answers matched faiss's and torchhd's,
that the faiss ratio is given per query-noise band, and that bytes per reflex are measured (the
resident set grows by more than the packed vectors) rather than the vector width restated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "reflex_lookup.py"
KEYS = (
    "n", "dim", "ours_single_p50_us", "ours_single_p99_us", "torchhd_single_p50_us",
    "faiss_flat_single_p50_us", "ratio_vs_torchhd", "ratio_vs_faiss_flat", "bytes_per_reflex_rss",
    "vector_bytes", "torchhd_batch_s", "ann_recall_at_1", "ann_p99_us", "peer", "ratio",
)  # fmt: skip
GONE = ("bytes_per_reflex", "torchhd_bytes_per_reflex", "torchhd_batch_s_extrapolated")
BANDS = ["0%-5%", "5%-12%", "12%-25%", "25%-40%"]


@pytest.mark.slow
def test_benchmark_prints_every_required_figure_last() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--json", "--exact-n", "2000", "--ann-n", "3000",
         "--hnsw-n", "500", "--queries", "40", "--batch", "50", "--torchhd-queries", "20",
         "--band-queries", "20"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert key in figures
    for key in GONE:
        assert key not in figures, key
    assert (figures["n"], figures["dim"]) == (2000, 10_000)
    assert figures["answers_match_faiss"] is True
    # torchhd's MAP dot product is an exact search too: its best row is at our distance.
    assert figures["torchhd_queries"] == 20
    assert figures["answers_match_torchhd"] is True
    bands = figures["faiss_flat_by_noise"]
    assert [b["noise_band"] for b in bands] == BANDS
    assert all(b["queries"] == 20 and b["answers_match_faiss"] for b in bands)
    # 0-5 % noise is far inside the 0.75 similarity threshold; 25-40 % is beyond it but at its
    # edge (a query drawn at ~25 % may keep 75 % of its bits), so only most of that band misses.
    assert bands[0]["hit_share"] == 1.0
    assert bands[-1]["hit_share"] < 0.5
    assert all(band["noise_band"] in result.stdout for band in bands)  # the printed table
    # Each reflex keeps its packed vector and more (id, metadata): a measured figure exceeds
    # the vector width, which the old key restated as bytes per reflex.
    assert figures["bytes_per_reflex_rss"] > figures["vector_bytes"]
    # Each query is a stored vector with 10 % of its bits flipped; the index finds it when one of
    # its 16 blocks of 24 bits is within one flip of the stored block: P(no block) = 0.71^16,
    # about 0.4 %, so nearly every query must be found. A broken index scores far below.
    assert figures["ann_recall_at_1"] >= 0.9
