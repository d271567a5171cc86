"""Calibration laws (Hypothesis): exact scores, order invariance, coverage over draws."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emily.instinct import HammingScan, calibrate_threshold
from emily.instinct._calibration import nearest_scores
from emily.instinct._hdc import random_hv, seeded_rng

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


def clustered(seed: int, n: int, dim: int, labels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = random_hv(dim, seeded_rng(seed, "c"), n=3)
    rows = centres[rng.integers(0, 3, n)] ^ np.packbits(rng.random((n, dim)) < 0.1, axis=1)
    return rows, rng.integers(0, labels, n)


@settings(deadline=None, max_examples=40)
@given(SEEDS, st.integers(2, 60), st.sampled_from([64, 256, 2048]), st.integers(1, 4))
def test_scores_equal_brute_force(seed: int, n: int, dim: int, labels: int) -> None:
    rows, codes = clustered(seed, n, dim, labels)
    sims = 1 - np.bitwise_count(rows[:, None] ^ rows[None]).sum(2) / dim  # (n, n)
    np.fill_diagonal(sims, -np.inf)
    foreign = np.where(codes[:, None] != codes[None], sims, -np.inf)
    scores, other = nearest_scores(rows, codes.astype(np.int64), dim)
    assert np.array_equal(scores, sims.max(axis=1))
    assert np.array_equal(other, foreign.max(axis=1))


@settings(deadline=None, max_examples=25)
@given(SEEDS, st.integers(2, 80))
def test_calibration_does_not_depend_on_order(seed: int, n: int) -> None:
    rows, codes = clustered(seed, n, 512, 3)
    labels = [f"l{c}" for c in codes]
    order = np.random.default_rng(seed + 1).permutation(n)
    shuffled = calibrate_threshold(rows[order], [labels[i] for i in order], 512)
    assert shuffled == calibrate_threshold(rows, labels, 512)


@settings(deadline=None, max_examples=15)
@given(SEEDS)
def test_fresh_known_stimuli_hit_about_one_minus_alpha(seed: int) -> None:
    """Coverage 1 - k/(n+1) = 0.95 in expectation; over draws its spread is about
    sqrt(alpha (1 - alpha) / n) = 0.015 at n = 200 (plus 0.007 from 1,000 test stimuli), so
    [0.88, 1.0) is wider than 4 sigma on each side."""
    rows, _codes = clustered(seed, 1200, 1024, 1)
    train, test = rows[:200], rows[200:]
    cal = calibrate_threshold(train, ["k"] * 200, 1024, target_miss_rate=0.05)
    scan = HammingScan(1024)
    scan.add(train)
    _, dist = scan.nearest_batch(test)
    hit = np.mean(1 - dist / 1024 >= cal.threshold)
    assert 0.88 <= hit < 1.0
