"""The exact correction's fast checks: the backward probability, the effective sample size,
what it refuses, and where its chains start.

The statistical checks (an untrained policy, corrected, samples the exact posterior) take tens
of seconds each: ``tests/integration/cognition/test_cognition_correction_exact.py``.
"""

from __future__ import annotations

import math

import pytest
import torch

from emily.cognition import build
from emily.cognition.correction import (
    GFlowNetMH,
    effective_sample_size,
    importance_resample,
    log_backward_uniform,
)
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses
from emily.cognition.mcmc import StructureMCMC
from emily.cognition.scores import BGeScore
from emily.core.errors import InputError


def test_log_backward_is_minus_log_factorial() -> None:
    k = torch.tensor([0, 1, 3, 5])
    expected = torch.tensor([-math.lgamma(v + 1) for v in (0, 1, 3, 5)], dtype=torch.float64)
    assert torch.allclose(log_backward_uniform(k), expected)


def test_effective_sample_size_bounds() -> None:
    assert effective_sample_size(torch.zeros(10)) == pytest.approx(10.0)
    assert effective_sample_size(torch.tensor([0.0, -1e9, -1e9])) == pytest.approx(1.0)


def test_non_dag_or_learned_backward_is_refused() -> None:
    data, _ = synthetic_linear_gaussian(d=3, seed=0, n=50)
    env = DAGHypotheses(BGeScore(data))
    net = build(env, "v2", hidden=16, seed=0)  # learned P_B: the 1/k! weights do not hold
    with pytest.raises(InputError):
        importance_resample(net, 10, 10)


def test_chains_start_where_the_training_reference_is_and_share_its_scores() -> None:
    data, _ = synthetic_linear_gaussian(d=4, seed=3, n=100)
    net = build(DAGHypotheses(BGeScore(data)), "dag", hidden=16, seed=3)
    net.train(steps=3, progress=False)
    reference = net.reference.mcmc  # type: ignore[union-attr]
    mh = GFlowNetMH.from_reference(net, chains=6, seed=3)
    started = reference.graphs()
    assert mh.mcmc.graphs() == [started[c % reference.n_chains] for c in range(6)]
    assert mh.mcmc._cache is reference._cache
    other = StructureMCMC(BGeScore(data))
    with pytest.raises(InputError, match="same score"):
        other.share_scores(reference)
