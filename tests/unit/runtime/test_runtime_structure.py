"""The runtime's cognition flags a collapse only when DAG samples sit on a few members of a class.

The sampler is replaced by one that returns chosen graphs, so each case pins down what the
runtime reports for a known sample set: a correct sampler of a sharp posterior (all samples on
one DAG that is alone in its Markov equivalence class) has zero diversity and must not be
flagged; a sampler that keeps every sample on one of two equivalent DAGs must be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from emily.cognition import BGeScore, DAGHypotheses
from emily.cognition.exact import ExactEvaluator
from emily.cognition.gflownet import Samples
from emily.core import InputError
from emily.runtime.stimuli import Stimulus
from emily.runtime.structure import CausalStructureSource, CognitionModel

FEATURES = ("a", "b", "c")


class _FixedSampler:
    """Stands in for a GFlowNet: trains on nothing and draws the given graphs."""

    def __init__(self, env: DAGHypotheses, graphs: Sequence[np.ndarray]) -> None:
        self.env, self.graphs = env, graphs

    def train(self, **_: Any) -> None:
        return None

    def generate(self, n: int) -> Samples:
        rows = [self.env.state_from(self.graphs[i % len(self.graphs)]) for i in range(n)]
        states = {k: torch.cat([r[k] for r in rows]) for k in rows[0]}
        return Samples(
            states=states,
            log_reward=self.env.log_reward(states),
            keys=self.env.key(states),
            embeddings=self.env.embed(states),
            descriptions=self.env.describe(states),
        )


def _window(n: int = 30) -> list[Stimulus]:
    rng = np.random.default_rng(0)
    return [
        Stimulus(id=f"s{i}", features={f: float(rng.normal()) for f in FEATURES}) for i in range(n)
    ]


def _adj(*edges: tuple[int, int]) -> np.ndarray:
    a = np.zeros((3, 3), dtype=bool)
    for i, j in edges:
        a[i, j] = True
    return a


def _source(monkeypatch: pytest.MonkeyPatch, graphs: Sequence[np.ndarray]) -> CausalStructureSource:
    source = CausalStructureSource(FEATURES, samples=200, sampler="gflownet")
    monkeypatch.setattr(source, "start", lambda env: _FixedSampler(env, graphs))
    return source


def test_one_dag_alone_in_its_class_is_not_a_collapse(monkeypatch: pytest.MonkeyPatch) -> None:
    v_structure = _adj((0, 2), (1, 2))  # a -> c <- b: no other DAG is equivalent to it
    batch = _source(monkeypatch, [v_structure]).hypothesise(_window())
    assert batch.diversity == 0.0  # the old diversity test called this a collapse
    assert not batch.mode_collapse
    assert batch.hypotheses[0].share == 1.0


def test_one_member_of_a_class_of_two_is_a_collapse(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _source(monkeypatch, [_adj((0, 1))]).hypothesise(_window())  # never b -> a
    assert batch.mode_collapse


def test_an_even_spread_over_a_class_is_not_a_collapse(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = [_adj((0, 1), (1, 2)), _adj((1, 0), (1, 2)), _adj((1, 0), (2, 1))]  # all of a - b - c
    batch = _source(monkeypatch, chain).hypothesise(_window())
    assert not batch.mode_collapse
    assert len(batch.hypotheses) == 3


def test_a_real_short_gflownet_run_reports_a_batch() -> None:
    source = CausalStructureSource(FEATURES, train_steps=2, samples=64, sampler="gflownet")
    assert source.starts_from == "variant v1 from scratch"
    batch = source.hypothesise(_window())
    assert 0.0 <= batch.diversity <= 1.0
    assert isinstance(batch.mode_collapse, bool)
    assert sum(h.share for h in batch.hypotheses) <= 1.0 + 1e-9


def _structured_window(n: int = 60) -> list[Stimulus]:
    """a -> b -> c with noise: a posterior spread over a few graphs."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        a = float(rng.normal())
        b = 0.8 * a + float(rng.normal(0, 0.6))
        c = -0.7 * b + float(rng.normal(0, 0.6))
        out.append(Stimulus(id=f"s{i}", features={"a": a, "b": b, "c": c}))
    return out


def test_without_a_model_mcmc_samples_the_exact_posterior() -> None:
    source = CausalStructureSource(FEATURES, samples=2000, top=25)
    assert source.sampler == "mcmc"
    assert source.starts_from == "structure MCMC (no training)"
    window = _structured_window()
    batch = source.hypothesise(window)
    env = DAGHypotheses(BGeScore(source._table(window)))
    exact = ExactEvaluator(env)
    names = [
        ", ".join(f"{a}→{b}" for a, b in edges) if edges else "(independent)"
        for edges in env.describe(exact.states)
    ]
    mass = dict(zip(names, exact.target.tolist(), strict=True))
    log_reward = dict(zip(names, exact.log_reward.tolist(), strict=True))
    assert batch.hypotheses
    for h in batch.hypotheses:  # 2,000 draws: a share is within ~0.011 (one sd) of its mass
        assert h.share == pytest.approx(mass[h.description], abs=0.05), h.description
        assert h.log_reward == pytest.approx(log_reward[h.description], abs=1e-6)
    assert sum(h.share for h in batch.hypotheses) == pytest.approx(1.0)
    assert not batch.mode_collapse


def test_sampler_choice_is_checked() -> None:
    with pytest.raises(InputError, match="sampler"):
        CausalStructureSource(FEATURES, sampler="gibbs")  # type: ignore[arg-type]
    model = CognitionModel(name="m", version="1", variant="v1", checkpoint=b"")
    with pytest.raises(InputError, match="would ignore it"):
        CausalStructureSource(FEATURES, model=model, sampler="mcmc")
