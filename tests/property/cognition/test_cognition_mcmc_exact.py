"""Structure MCMC against the exact posterior over all 29,281 DAGs of d = 5, and properties of
every sample of random small problems (acyclic, within max_parents, scored exactly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses
from emily.cognition.equivalence import is_acyclic
from emily.cognition.exact import ExactEvaluator
from emily.cognition.mcmc import StructureMCMC
from emily.cognition.metrics import edge_marginal_error, empirical_distribution, jensen_shannon
from emily.cognition.scores import BDeuScore, BGeScore, DecomposableScore

# Statistical checks of whole distributions: thousands of sampler steps, traced line by line
# under coverage at several times the cost, adding no line the unit tests do not cover.
pytestmark = pytest.mark.no_cover


N_SAMPLES = 100_000


def _score(kind: str, d: int, seed: int, edge_penalty: float = 0.0) -> DecomposableScore:
    if kind == "bge":
        data = synthetic_linear_gaussian(d=d, seed=seed, n=100)[0]
        return BGeScore(data, edge_penalty=edge_penalty)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, size=(40, d))
    codes[0], codes[1] = 0, 1  # no constant column
    codes[:, 1] = (codes[:, 0] + (rng.random(40) < 0.2)) % 3
    return BDeuScore(pd.DataFrame(codes), edge_penalty=edge_penalty)


def _iid_jsd(q: torch.Tensor, n: int) -> float:
    """JSD of ``n`` independent draws from ``q`` itself: the floor any sampler of that size has."""
    gen = torch.Generator().manual_seed(0)
    draws = torch.multinomial(q, n, replacement=True, generator=gen)
    return jensen_shannon(torch.bincount(draws, minlength=q.numel()).double() / n, q)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "max_parents", "edge_penalty", "thin"),
    [("bge", None, 0.0, 10), ("bge", 2, 0.0, 20), ("bge", None, 1.0, 10), ("bdeu", 3, 0.0, 10)],
)
def test_d5_matches_exact_posterior(
    kind: str, max_parents: int | None, edge_penalty: float, thin: int
) -> None:
    """100,000 pooled samples (4 chains) against the exact target over the d = 5 DAGs.

    Threshold: ``2 * JSD(iid) + 0.001``. ``JSD(iid)``, the distance of 100,000 independent draws
    from the target itself (0.0086 for the flat BGe posterior, 1e-4 for the peaked BDeu one), is
    the floor for any sampler of that size; the chains' autocorrelation at this thin measured
    1.1-1.7x it, and the 0.001 nats of slack cover peaked posteriors, where the floor is tiny.
    The errors this must catch are far larger: a reversal that scored only the child's term, or
    a sampler ignoring a 0.5 per-edge prior, put the law 0.01-0.03 away. Edge marginals must
    agree within 0.03 each (measured <= 0.015).
    """
    score = _score(kind, 5, 0, edge_penalty)
    env = DAGHypotheses(score, max_parents=max_parents)
    exact = ExactEvaluator(env)
    q = exact.target
    samples = StructureMCMC(score, max_parents, seed=0).sample(N_SAMPLES, thin=thin)
    keys = env.key({"adj": torch.from_numpy(samples.adjacency)})
    emp = empirical_distribution(keys, exact.keys)  # also: every sample is one of the DAGs
    assert jensen_shannon(emp, q) < 2 * _iid_jsd(q, N_SAMPLES) + 0.001
    _, max_err = edge_marginal_error(exact.states["adj"], emp, q)
    assert max_err < 0.03


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["bge", "bdeu"]),
    d=st.integers(2, 7),
    data_seed=st.integers(0, 1000),
    max_parents=st.one_of(st.none(), st.integers(0, 6)),
    chains=st.integers(1, 3),
    seed=st.integers(-5, 5),
    burn_in=st.integers(0, 60),
    thin=st.integers(1, 15),
)
def test_every_sample_is_a_scored_dag_within_max_parents(
    kind: str,
    d: int,
    data_seed: int,
    max_parents: int | None,
    chains: int,
    seed: int,
    burn_in: int,
    thin: int,
) -> None:
    score = _score(kind, d, data_seed)
    mp = None if max_parents is None else min(max_parents, d - 1)
    samples = StructureMCMC(score, mp, chains=chains, seed=seed).sample(
        25, burn_in=burn_in, thin=thin
    )
    assert samples.adjacency.shape == (25, d, d)
    assert samples.steps == chains * (burn_in + -(-25 // chains) * thin)
    for adj, log_score in zip(samples.adjacency, samples.log_score, strict=True):
        assert is_acyclic(adj)  # Kahn's algorithm, not the sampler's search
        if mp is not None:
            assert adj.sum(0).max() <= mp
        assert log_score == pytest.approx(score.score_graph(adj), abs=1e-8)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 100), first=st.integers(1, 40), then=st.integers(1, 40))
def test_a_reloaded_sampler_continues_the_same_chain(
    seed: int, first: int, then: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    score = _score("bge", 4, seed)
    mcmc = StructureMCMC(score, seed=seed, chains=2)
    mcmc.sample(first, burn_in=seed % 7, thin=3)
    path = mcmc.save(Path(tmp_path_factory.mktemp("mcmc")) / "chain.pt")
    a = mcmc.sample(then, thin=2)
    b = StructureMCMC.load(path).sample(then, thin=2)
    np.testing.assert_array_equal(a.adjacency, b.adjacency)
    np.testing.assert_array_equal(a.log_score, b.log_score)
