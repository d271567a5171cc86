"""HyperGrid and DAG environments: rewards, masks, steps, input validation, SHD."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from emily.cognition import BGeScore, DAGHypotheses, HyperGrid, make_env
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import structural_hamming_distance
from emily.core.errors import InputError


def test_hypergrid_standard_reward_values() -> None:
    env = HyperGrid(ndim=2, height=8)
    r = env.log_reward(env.state_from([1, 6]) | {}).exp().item()
    assert r == pytest.approx(0.1 + 0.5 + 2.0)
    assert env.log_reward(env.state_from([0, 7])).exp().item() == pytest.approx(0.6)
    assert env.log_reward(env.state_from([3, 4])).exp().item() == pytest.approx(0.1)
    assert env.log_reward(env.state_from([1, 3])).exp().item() == pytest.approx(0.1)
    assert env.n_modes == 4


def test_hypergrid_masks_step_and_keys() -> None:
    env = HyperGrid(ndim=2, height=3)
    s = env.state_from([2, 0])
    assert env.forward_mask(s).tolist() == [[False, True, True]]
    assert env.backward_mask(s).tolist() == [[True, False]]
    nxt = env.step(s, torch.tensor([1]))
    assert nxt["x"].tolist() == [[2, 1]]
    assert env.step(s, torch.tensor([2]))["x"].tolist() == [[2, 0]]  # stop is a no-op
    all_states = env.enumerate_states()
    assert torch.unique(env.key(all_states)).numel() == 9
    assert env.obs(s).sum().item() == 2
    assert env.describe(s) == [(2, 0)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ndim": 0}, "ndim"),
        ({"height": 1}, "height"),
        ({"R0": 0.0}, "R0"),
        ({"R1": float("nan")}, "R1"),
    ],
)
def test_hypergrid_rejects_bad_parameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        HyperGrid(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [[1, 2, 3], [9, 0], [-1, 0], [0.5, 1.0], [[1, 2]]])
def test_hypergrid_rejects_bad_states(raw: object) -> None:
    with pytest.raises(InputError):
        HyperGrid(ndim=2, height=4).state_from(raw)


def _dag_env(d: int = 3, seed: int = 0) -> DAGHypotheses:
    data, _ = synthetic_linear_gaussian(d=d, seed=seed)
    return DAGHypotheses(BGeScore(data))


def test_dag_masks_forbid_cycles_and_self_loops() -> None:
    env = _dag_env(3)
    s = env.state_from([[0, 1, 0], [0, 0, 1], [0, 0, 0]])  # 0 -> 1 -> 2
    mask = env.forward_mask(s)[0, :9].view(3, 3)
    assert not mask.diagonal().any()
    assert not mask[1, 0]
    assert not mask[2, 1]
    assert not mask[2, 0]  # 2 -> 0 closes 0 -> 1 -> 2 -> 0
    assert mask[0, 2]  # 0 -> 2 is fine
    assert env.forward_mask(s)[0, -1]  # stop always allowed
    assert env.n_parents(s).item() == 2


def test_dag_state_from_rejects_bad_adjacency() -> None:
    env = _dag_env(3)
    with pytest.raises(InputError, match="cycle"):
        env.state_from([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    with pytest.raises(InputError, match="self-loops"):
        env.state_from(np.eye(3))
    with pytest.raises(InputError, match="shape"):
        env.state_from(np.zeros((2, 2)))
    with pytest.raises(InputError, match="0/1"):
        env.state_from([[0, 2, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(InputError, match="NaN"):
        env.state_from([[0, float("nan"), 0], [0, 0, 0], [0, 0, 0]])


def test_dag_enumeration_counts_match_oeis() -> None:
    for d, count in ((2, 3), (3, 25), (4, 543)):
        env = _dag_env(d)
        states = env.enumerate_states()
        assert torch.unique(env.key(states)).numel() == count


def test_dag_max_parents_limits_in_degree() -> None:
    data, _ = synthetic_linear_gaussian(d=4, seed=1)
    env = DAGHypotheses(BGeScore(data), max_parents=1)
    s = env.state_from([[0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    mask = env.forward_mask(s)[0, :16].view(4, 4)
    assert not mask[:, 3].any()
    with pytest.raises(InputError, match="max_parents"):
        env.state_from([[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(InputError, match="max_parents"):
        DAGHypotheses(BGeScore(data), max_parents=4)


def test_make_env_round_trips_specs() -> None:
    grid = HyperGrid(ndim=3, height=5, R0=0.2)
    assert make_env(grid.spec()).spec() == grid.spec()
    dag = _dag_env(3)
    rebuilt = make_env(dag.spec())
    assert isinstance(rebuilt, DAGHypotheses)
    s = dag.state_from([[0, 1, 1], [0, 0, 0], [0, 0, 0]])
    assert rebuilt.state_from([[0, 1, 1], [0, 0, 0], [0, 0, 0]])["score"].item() == pytest.approx(
        s["score"].item()
    )
    with pytest.raises(InputError, match="unknown environment"):
        make_env({"kind": "nope"})


def test_structural_hamming_distance() -> None:
    a = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert structural_hamming_distance(a, a) == 0
    assert structural_hamming_distance(a, a.T) == 2  # two reversals
    assert structural_hamming_distance(a, np.zeros((3, 3))) == 2  # two deletions
    b = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]])
    assert structural_hamming_distance(a, b) == 2  # one deletion, one addition
    with pytest.raises(InputError):
        structural_hamming_distance(a, np.zeros((2, 2)))


def test_dag_describe_uses_column_names() -> None:
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["rain", "wet"])
    env = DAGHypotheses(BGeScore(frame))
    assert env.describe(env.state_from([[0, 1], [0, 0]])) == [[("rain", "wet")]]
    assert math.isfinite(env.empty_score)
