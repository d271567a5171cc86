"""Exact correction of a GFlowNet, statistically: an untrained policy, corrected, samples the
exact posterior (d = 3 and 4, where every DAG can be enumerated).

Why here and not in ``tests/unit``: each test draws 10^4-10^5 graphs to tell a total variation
of 0.03 from the policy's 0.2-0.3, tens of seconds apiece. ``tests/unit`` holds the correction's
fast checks.

Why this design: on a d = 3 space (25 DAGs) the exact posterior is known, and an untrained
policy's terminal distribution is far from it, so a correction that is right only when the
policy already is would fail here. The trajectory weights are also checked against the exact
terminal distribution of the policy: ``E_{P_F}[w] = Z`` and the self-normalised weights of the
exact ``P_T`` must give back the target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from emily.cognition import build
from emily.cognition.correction import (
    GFlowNetMH,
    importance_resample,
    trajectory_log_weights,
)
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses
from emily.cognition.exact import ExactEvaluator
from emily.cognition.gflownet import GFlowNet
from emily.cognition.mcmc import StructureMCMC
from emily.cognition.metrics import empirical_distribution, l1_distance
from emily.cognition.scores import BGeScore

# Statistical checks of whole distributions: thousands of sampler steps, traced line by line
# under coverage at several times the cost, adding no line the unit tests do not cover.
pytestmark = pytest.mark.no_cover


def _setup(d: int = 3, seed: int = 0) -> tuple[GFlowNet, ExactEvaluator]:
    data, _ = synthetic_linear_gaussian(d=d, seed=seed, n=100)
    env = DAGHypotheses(BGeScore(data))
    net = build(env, "v1", hidden=32, seed=seed)  # untrained: far from the posterior
    return net, ExactEvaluator(env)


def _tv(net: GFlowNet, exact: ExactEvaluator, adjacency: np.ndarray) -> float:
    keys = net.env.key({"adj": torch.from_numpy(np.asarray(adjacency, dtype=bool))})
    emp = empirical_distribution(keys, exact.keys)
    return 0.5 * l1_distance(emp, exact.target.double())


def test_uncorrected_policy_is_far_from_the_posterior() -> None:
    net, exact = _setup()
    torch.manual_seed(0)
    assert _tv(net, exact, net.generate(20_000).states["adj"].numpy()) > 0.2


def test_trajectory_weights_are_exact_in_expectation() -> None:
    """``E_{P_F}[w] = Z`` (estimated from many draws) and ``w`` is finite for every draw."""
    net, exact = _setup()
    torch.manual_seed(1)
    drawn = net.generate(100_000)
    assert drawn.log_pf is not None
    log_w = trajectory_log_weights(
        drawn.log_reward, drawn.log_pf, drawn.states["adj"].flatten(1).sum(-1)
    )
    assert torch.isfinite(log_w).all()
    log_z = float(torch.logsumexp(exact.log_reward, 0))
    estimate = float(torch.logsumexp(log_w, 0)) - math.log(log_w.numel())
    assert estimate == pytest.approx(log_z, abs=0.05)


def test_importance_resampling_matches_the_posterior() -> None:
    net, exact = _setup()
    torch.manual_seed(2)
    res = importance_resample(net, 40_000, 20_000, seed=0)
    assert np.isfinite(res.log_weight).all()
    assert 1.0 <= res.ess <= res.proposals
    assert _tv(net, exact, res.adjacency) < 0.03


@pytest.mark.slow
@pytest.mark.parametrize(
    ("local_steps", "backtrack"), [(0, "full"), (0, "uniform"), (2, "uniform")]
)
def test_gflownet_mh_matches_the_posterior(local_steps: int, backtrack: str) -> None:
    """With no local moves the chain moves by GFlowNet proposals alone, so only exact
    acceptance ratios (weights, backward probabilities, the choice of ``m``) can make it right."""
    net, exact = _setup()
    torch.manual_seed(3)
    mcmc = StructureMCMC(net.env.score, chains=128, seed=0)  # type: ignore[attr-defined]
    mh = GFlowNetMH(net, mcmc, local_steps=local_steps, backtrack=backtrack, seed=0)  # type: ignore[arg-type]
    mh.sample(128 * 20)  # burn in from the empty graph
    run = mh.sample(128 * 200)
    assert 0.0 < run.acceptance_rate < 1.0
    assert run.proposals == 128 * run.rounds
    assert run.local_steps == 128 * run.rounds * local_steps
    assert _tv(net, exact, run.adjacency) < 0.03


@pytest.mark.slow
def test_gflownet_mh_corrects_a_four_node_posterior() -> None:
    """543 DAGs: MC³ local moves mixed with GFlowNet moves, from an untrained policy."""
    net, _ = _setup(d=4, seed=1)
    exact = ExactEvaluator(net.env)
    torch.manual_seed(4)
    assert _tv(net, exact, net.generate(38_400).states["adj"].numpy()) > 0.3
    mcmc = StructureMCMC(net.env.score, chains=256, seed=1)  # type: ignore[attr-defined]
    mh = GFlowNetMH(net, mcmc, local_steps=6, seed=1)
    mh.sample(256 * 20)
    run = mh.sample(256 * 150)
    assert run.local_steps == 256 * run.rounds * 6
    assert _tv(net, exact, run.adjacency) < 0.05  # iid floor at this size: ~0.03
