"""DAG collapse against exact posteriors: all 29,281 five-node DAGs scored by BGe, six times.

Split from ``tests/unit/cognition/test_cognition_metrics.py``: enumerating the exact posteriors
takes tens of seconds, too slow for ``unit``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emily.cognition import BGeScore, DAGHypotheses
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.equivalence import mec_keys
from emily.cognition.exact import ExactEvaluator
from emily.cognition.metrics import DAG_COLLAPSE_THRESHOLD, dag_collapse

# Statistical checks of whole distributions: thousands of sampler steps, traced line by line
# under coverage at several times the cost, adding no line the unit tests do not cover.
pytestmark = pytest.mark.no_cover


# Exact posteriors: the claim the test rests on, and the test on samples of the exact target.

SEEDS = (0, 1, 2)
ROWS = (100, 1000)


@pytest.fixture(scope="module")
def exact_posteriors() -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """``(n, seed) -> (adjacency [29281, 5, 5], log-reward)`` for d = 5 BGe, by ExactEvaluator."""
    out = {}
    for n, seed in itertools.product(ROWS, SEEDS):
        data, _ = synthetic_linear_gaussian(d=5, n=n, seed=seed)
        ev = ExactEvaluator(DAGHypotheses(BGeScore(data)))
        out[(n, seed)] = (ev.states["adj"].numpy(), ev.log_reward.double().numpy())
    return out


@pytest.fixture(scope="module")
def class_keys(
    exact_posteriors: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
) -> list[bytes]:
    adjacency = [adj for adj, _ in exact_posteriors.values()]
    assert all(np.array_equal(adjacency[0], a) for a in adjacency)  # one enumeration order
    return mec_keys(adjacency[0])


@pytest.mark.slow
def test_members_of_a_class_have_equal_posterior_mass(
    exact_posteriors: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
    class_keys: list[bytes],
) -> None:
    """BGe is score-equivalent and the prior depends on edge counts: the premise of the test."""
    for (n, seed), (_, log_p) in exact_posteriors.items():
        by_class: dict[bytes, list[float]] = {}
        for key, lp in zip(class_keys, log_p, strict=True):
            by_class.setdefault(key, []).append(float(lp))
        assert len(by_class) == 8782
        worst = max(max(v) - min(v) for v in by_class.values())
        assert worst < 1e-8, (n, seed, worst)


@pytest.mark.slow
def test_exact_posterior_samples_pass_and_their_collapse_fails(
    exact_posteriors: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
    class_keys: list[bytes],
) -> None:
    statistics = []
    for (n, seed), (adjacency, log_reward) in exact_posteriors.items():
        target = np.exp(log_reward - log_reward.max())
        for rep in range(4):
            rng = np.random.default_rng(1000 * seed + 10 * rep + n)
            idx = rng.choice(len(target), size=1000, p=target / target.sum())
            correct = dag_collapse(adjacency[idx])
            assert not correct.collapsed, (n, seed, rep, correct.reason)
            assert correct.determined, (n, seed, rep, correct.reason)
            assert correct.statistic is not None
            statistics.append(correct.statistic)
            first: dict[bytes, int] = {}  # every class's samples moved onto one of its members
            collapsed = dag_collapse(adjacency[[first.setdefault(class_keys[i], i) for i in idx]])
            assert collapsed.collapsed, (n, seed, rep, collapsed.reason)
            assert collapsed.statistic == pytest.approx(1.0)
            assert collapsed.classes_tested == correct.classes_tested
    # The margin: exact samples stay far below the threshold, not just under it.
    assert max(statistics) < DAG_COLLAPSE_THRESHOLD / 2, max(statistics)
