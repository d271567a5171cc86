"""The edge-focused MH polish leaves the posterior invariant: from far-off starts it ends there.

Why this design: on d = 3 (25 DAGs) and d = 4 (543 DAGs) the exact posterior is known. Every
chain starts at the empty graph or at an untrained policy's draw, both far from it, so only
exact Hastings ratios (the ``k`` and ``N - 2k`` proposal counts) can bring the pooled end
states to it; dropping either count skews the edge-count distribution, which the bound sees.
Tens of thousands of chains per test, seconds apiece: here, not in ``tests/unit``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emily.cognition import build
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses
from emily.cognition.exact import ExactEvaluator
from emily.cognition.metrics import empirical_distribution, l1_distance
from emily.cognition.polish import EdgeMH
from emily.cognition.scores import BGeScore

# Statistical checks of whole distributions: thousands of sampler steps, traced line by line
# under coverage at several times the cost, adding no line the unit tests do not cover.
pytestmark = pytest.mark.no_cover


def _space(
    d: int, seed: int, max_parents: int | None = None
) -> tuple[DAGHypotheses, ExactEvaluator]:
    data, _ = synthetic_linear_gaussian(d=d, seed=seed, n=100)
    env = DAGHypotheses(BGeScore(data), max_parents)
    return env, ExactEvaluator(env)


def _tv(env: DAGHypotheses, exact: ExactEvaluator, adjacency: np.ndarray) -> float:
    keys = env.key({"adj": torch.from_numpy(np.asarray(adjacency, dtype=bool))})
    emp = empirical_distribution(keys, exact.keys)
    return 0.5 * l1_distance(emp, exact.target.double())


def test_policy_draws_polished_match_a_three_node_posterior() -> None:
    env, exact = _space(3, 0)
    net = build(env, "v1", hidden=32, seed=0)  # untrained: far from the posterior
    torch.manual_seed(0)
    drawn = net.generate(20_000).states["adj"].numpy()
    assert _tv(env, exact, drawn) > 0.2
    run = EdgeMH(env.score, seed=0).run(drawn, 30)
    assert 0.0 < run.acceptance < 1.0
    assert run.adjacency.shape == drawn.shape
    assert _tv(env, exact, run.adjacency) < 0.03  # iid floor at this size: ~0.01


@pytest.mark.parametrize("max_parents", [None, 2])
def test_empty_starts_polished_match_a_four_node_posterior(max_parents: int | None) -> None:
    env, exact = _space(4, 1, max_parents)
    empty = np.zeros((30_000, 4, 4), dtype=bool)
    assert _tv(env, exact, empty) > 0.5
    run = EdgeMH(env.score, max_parents, seed=1).run(empty, 150)
    if max_parents is not None:
        assert int(run.adjacency.sum(1).max()) <= max_parents
    assert _tv(env, exact, run.adjacency) < 0.05  # iid floor at this size: ~0.03
