"""The edge-focused MH polish's fast checks: zero steps change nothing, bad arguments are refused,
polished samples carry their own graphs' rewards.

The statistical checks (from far-off starts the polished draws reach the exact posterior) are in
``tests/integration/cognition/test_cognition_polish_exact.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.polish import EdgeMH
from emily.cognition.scores import BGeScore
from emily.core.errors import InputError


def test_zero_steps_returns_the_input_and_bad_arguments_are_refused() -> None:
    data, _ = synthetic_linear_gaussian(d=3, seed=0, n=100)
    score = BGeScore(data)
    adj = np.zeros((2, 3, 3), dtype=bool)
    adj[0, 0, 1] = True
    assert np.array_equal(EdgeMH(score).run(adj, 0).adjacency, adj)
    with pytest.raises(InputError):
        EdgeMH(score).run(adj, -1)
    with pytest.raises(InputError):
        EdgeMH(score).run(np.zeros((2, 4, 4), dtype=bool), 1)
    with pytest.raises(InputError):
        EdgeMH(score, mix=(0.5, 0.5, 0.0))
    with pytest.raises(InputError):
        EdgeMH(score, max_parents=3)


def test_polished_samples_carry_the_rewards_and_keys_of_their_graphs() -> None:
    """``polish_samples`` (``emily sample --polish``): zero steps keep the policy's draws and its
    rewards; more steps bring them closer to the exact posterior, with every field recomputed."""
    from emily.cognition import build
    from emily.cognition.envs import DAGHypotheses
    from emily.cognition.exact import ExactEvaluator
    from emily.cognition.metrics import empirical_distribution, l1_distance
    from emily.cognition.polish import polish_samples

    data, _ = synthetic_linear_gaussian(d=3, seed=0, n=100)
    env = DAGHypotheses(BGeScore(data))
    net = build(env, "v1", hidden=16, seed=0)  # untrained: far from the posterior
    torch.manual_seed(0)
    drawn = net.generate(3000)
    kept, run = polish_samples(env, drawn, 0)
    assert run.steps == 0
    assert torch.equal(kept.keys, drawn.keys)
    assert torch.allclose(kept.log_reward.double(), drawn.log_reward.double(), atol=1e-6)
    assert kept.log_pf is None

    polished, run = polish_samples(env, drawn, 40, seed=1)
    assert 0.0 < run.acceptance < 1.0
    assert torch.equal(polished.keys, env.key(polished.states))
    assert polished.descriptions == env.describe(polished.states)
    exact = ExactEvaluator(env)

    def tv(keys: torch.Tensor) -> float:
        return 0.5 * l1_distance(empirical_distribution(keys, exact.keys), exact.target.double())

    assert tv(polished.keys) < tv(drawn.keys) / 2
