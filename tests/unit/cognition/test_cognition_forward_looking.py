"""The forward-looking DAG sampler: exact score gains as known logits, the edge policy, replay of
shuffled edge orders, and generation that keeps only the current states."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from emily.cognition import BDeuScore, BGeScore, DAGHypotheses, build
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.estimators import EdgePolicy
from emily.cognition.replay import ReplayBuffer
from emily.cognition.scores import LocalScores, parents_of
from emily.core.errors import InputError


@pytest.mark.parametrize("d", [6, 15])
def test_bge_add_one_scores_match_one_determinant_per_candidate(d: int) -> None:
    data, _ = synthetic_linear_gaussian(d=d, n=150, seed=d)
    score = BGeScore(data, edge_penalty=0.3)
    rng = np.random.default_rng(0)
    for node in range(0, d, 2):
        others = [i for i in range(d) if i != node]
        parents = sorted(rng.choice(others, size=min(3, len(others)), replace=False).tolist())
        base, adds = score.add_one_scores(node, parents)
        assert base == pytest.approx(score.local_score(node, parents), abs=1e-9)
        for i in range(d):
            if i == node or i in parents:
                assert math.isnan(adds[i])
            else:
                assert adds[i] == pytest.approx(score.local_score(node, [*parents, i]), abs=1e-8)


def test_generic_add_one_scores_for_bdeu() -> None:
    rng = np.random.default_rng(1)
    score = BDeuScore(rng.integers(0, 3, size=(80, 4)))
    base, adds = score.add_one_scores(2, [0])
    assert base == pytest.approx(score.local_score(2, [0]))
    assert adds[3] == pytest.approx(score.local_score(2, [0, 3]))
    assert math.isnan(adds[0])
    assert math.isnan(adds[2])


@pytest.mark.parametrize("d", [5, 14])  # the dense table and the lazy cache
def test_running_gains_equal_recomputed_score_differences(d: int) -> None:
    data, _ = synthetic_linear_gaussian(d=d, n=120, seed=3)
    env = DAGHypotheses(BGeScore(data))
    net = build(env, "fl-mdb", seed=0)
    states = net.generate(6).states
    for row in range(6):
        adj = states["adj"][row].numpy()
        base = env.score.score_graph(adj)
        guide = env.guide({k: v[row : row + 1] for k, v in states.items()})[0]
        mask = env.forward_mask({k: v[row : row + 1] for k, v in states.items()})[0]
        n_edges = int(adj.sum())
        for action in mask[:-1].nonzero().squeeze(1).tolist()[:12]:
            i, j = divmod(action, d)
            child = adj.copy()
            child[i, j] = True
            expected = env.score.score_graph(child) - base - math.log(n_edges + 1)
            assert float(guide[action]) == pytest.approx(expected, rel=1e-5, abs=1e-3)
        assert float(guide[-1]) == 0.0


def test_local_scores_cache_stays_bounded() -> None:
    data, _ = synthetic_linear_gaussian(d=14, n=60, seed=0)
    local = LocalScores(BGeScore(data), torch.device("cpu"), cache_entries=50)
    nodes = torch.arange(14).repeat(20)
    masks = torch.arange(nodes.numel()) % 64 << 1
    masks = torch.where((masks >> nodes) & 1 == 1, torch.zeros_like(masks), masks)
    local.gains(nodes, masks)
    assert len(local._cache) <= 50
    many = torch.arange(40) % 14
    lookups = local.lookup(many, torch.full_like(many, 0b11) & ~(1 << many))  # overflows: clears
    assert lookups.shape == (40,)
    assert len(local.scores) <= 50
    value = local.lookup(torch.tensor([3]), torch.tensor([0b101]))
    assert float(value) == pytest.approx(local.score.local_score(3, parents_of(0b101, 14)))


def test_edge_policy_starts_at_zero_and_rejects_bad_sizes() -> None:
    policy = EdgePolicy(d=4, hidden=8)
    obs = torch.zeros(3, 2 * 16)
    obs[:, 16:] = torch.eye(4).flatten()  # closure of the empty graph
    logits, backward = policy(obs)
    assert logits.shape == (3, 17)
    assert backward is None
    assert torch.count_nonzero(logits) == 0  # an untrained net adds nothing to the guide
    with pytest.raises(InputError):
        EdgePolicy(d=1)


def test_edge_policy_needs_a_dag_space() -> None:
    from emily.cognition import HyperGrid

    with pytest.raises(InputError, match="DAG space"):
        build(HyperGrid(2, 4), "fl-mdb")


def test_shuffled_replay_keeps_the_moves_and_ends_with_stops() -> None:
    buffer = ReplayBuffer(capacity=4, length=6, seed=0)
    stop = 9
    actions = torch.tensor([[1, 2, 3, 4, stop, stop], [5, 6, stop, stop, stop, stop]])
    buffer.add(actions, torch.tensor([1.0, 2.0]), torch.tensor([10, 20]))
    seen_orders = set()
    for _ in range(30):
        drawn = buffer.sample(8, shuffle=True)
        for row in drawn.tolist():
            moves = [a for a in row if a != stop]
            assert row[len(moves) :] == [stop] * (6 - len(moves))
            assert sorted(moves) in ([1, 2, 3, 4], [5, 6])
            seen_orders.add(tuple(moves))
    assert len(seen_orders) > 6  # orders really vary


def test_forward_looking_variant_trains_and_its_exact_distribution_sums_to_one() -> None:
    data, _ = synthetic_linear_gaussian(d=4, n=50, seed=0)
    net = build(DAGHypotheses(BGeScore(data)), "fl-mdb", seed=0)
    assert net.config.forward_looking
    assert net.config.policy == "edge"
    p = net.exact_distribution()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-9)
    net.train(steps=5, progress=False)
    assert net.generate(7).keys.numel() == 7
