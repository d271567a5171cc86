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
from emily.cognition.scores import BGeScore, ScoreCache
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


def test_snapshots_continue_each_chain() -> None:
    """``keep`` snapshots per chain: the first is what a plain run of ``steps`` gives (the same
    random stream), each later one ``steps`` further along the same chain."""
    data, _ = synthetic_linear_gaussian(d=6, seed=0, n=100)
    score = BGeScore(data)
    start = np.zeros((40, 6, 6), dtype=bool)
    one = EdgeMH(score, seed=4).run(start, 25)
    three = EdgeMH(score, seed=4).run(start, 25, keep=3)
    assert three.adjacency.shape == (120, 6, 6)
    assert three.keep == 3
    assert np.array_equal(three.adjacency[:40], one.adjacency)
    longer = EdgeMH(score, seed=4).run(start, 75)
    assert np.array_equal(three.adjacency[80:], longer.adjacency)
    assert not np.array_equal(three.adjacency[40:80], three.adjacency[:40])
    with pytest.raises(InputError, match="keep must be an int >= 1"):
        EdgeMH(score).run(start, 5, keep=0)
    assert EdgeMH(score).run(start, 0, keep=2).adjacency.shape == (80, 6, 6)


def test_polish_layout_keeps_a_thousand_chains_and_wastes_no_graph() -> None:
    from emily.cognition.polish import polish_layout

    assert polish_layout(1) == (1, 1)
    assert polish_layout(1_000) == (1_000, 1)
    assert polish_layout(1_999) == (1_999, 1)
    assert polish_layout(2_500) == (1_250, 2)
    assert polish_layout(10_000) == (2_000, 5)
    assert polish_layout(100_000) == (20_000, 5)
    for n in range(1, 12_000, 37):
        chains, keep = polish_layout(n)
        assert chains >= min(n, 1_000)
        assert n <= chains * keep < n + keep
    with pytest.raises(InputError, match="n must be >= 1"):
        polish_layout(0)


def test_graphs_with_a_cycle_are_refused_by_name() -> None:
    data, _ = synthetic_linear_gaussian(d=3, seed=0, n=100)
    mh = EdgeMH(BGeScore(data))
    graphs = np.zeros((3, 3, 3), dtype=bool)
    graphs[0, 0, 1] = graphs[0, 1, 2] = True  # a chain: fine
    graphs[1, 0, 1] = graphs[1, 1, 2] = graphs[1, 2, 0] = True  # a three-cycle
    with pytest.raises(InputError, match=r"1 of 3 graphs .* first is graph 1"):
        mh.run(graphs, 1)
    graphs[1] = False
    graphs[2, 1, 1] = True  # a self-loop
    with pytest.raises(InputError, match="first is graph 2"):
        mh.run(graphs, 1)
    graphs[2] = False
    assert mh.run(graphs, 1).adjacency.shape == (3, 3, 3)


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


def _exact_one_step(score: BGeScore, start: np.ndarray, max_parents: int | None) -> dict:
    """The kernel of the module docstring, enumerated: next-graph probabilities from ``start``."""
    import math

    d = start.shape[0]
    n_pairs, (p_del, p_rev, p_add) = d * (d - 1), (1 / 3, 1 / 3, 1 / 3)

    def log_score(g: np.ndarray) -> float:
        return score.score_graph(g)

    def valid(g: np.ndarray) -> bool:
        reach = g.astype(int)
        for _ in range(d):
            reach = np.minimum(reach + reach @ g.astype(int), 1)
        too_many = max_parents is not None and int(g.sum(0).max()) > max_parents
        return not np.trace(reach) and not too_many

    out: dict[bytes, float] = {}

    def put(g: np.ndarray, p: float) -> None:
        out[g.tobytes()] = out.get(g.tobytes(), 0.0) + p

    edges = list(zip(*np.nonzero(start), strict=True))
    free = [(i, j) for i in range(d) for j in range(d) if i != j and not start[i, j] | start[j, i]]
    k, base = len(edges), log_score(start)
    for i, j in edges:
        moved = start.copy()
        moved[i, j] = False
        log_q = math.log(p_add / (n_pairs - 2 * k + 2)) - math.log(p_del / k)
        alpha = min(1.0, math.exp(log_score(moved) - base + log_q))
        put(moved, p_del / k * alpha)
        put(start, p_del / k * (1 - alpha))
        moved = moved.copy()
        moved[j, i] = True
        alpha = min(1.0, math.exp(log_score(moved) - base)) if valid(moved) else 0.0
        put(moved, p_rev / k * alpha)
        put(start, p_rev / k * (1 - alpha))
    for i, j in free:
        moved = start.copy()
        moved[i, j] = True
        log_q = math.log(p_del / (k + 1)) - math.log(p_add / len(free))
        alpha = min(1.0, math.exp(log_score(moved) - base + log_q)) if valid(moved) else 0.0
        put(moved, p_add / len(free) * alpha)
        put(start, p_add / len(free) * (1 - alpha))
    return out


@pytest.mark.parametrize("max_parents", [None, 2])
def test_one_step_of_all_chains_follows_the_exact_kernel(max_parents: int | None) -> None:
    """The vectorised step against the kernel enumerated from the docstring's ratios: 100,000
    chains from one 4-node graph with 4 edges (0 -> 1 -> 2, 0 -> 3 -> 2), where deletions,
    reversals (some closing a cycle) and additions (with ``max_parents = 2``, some refused) all
    occur. Dropping the deletion's ``k`` or ``N - 2k + 2`` (or, without ``max_parents``, the
    addition's ``N - 2k``) moves this distance to 0.03 or more; the noise is ~0.004. (The
    integration tests catch each dropped count over many steps.)"""
    data, _ = synthetic_linear_gaussian(d=4, seed=0, n=30)
    score = BGeScore(data)
    start = np.zeros((4, 4), dtype=bool)
    start[0, 1] = start[1, 2] = start[0, 3] = start[3, 2] = True
    exact = _exact_one_step(score, start, max_parents)
    n = 100_000
    run = EdgeMH(score, max_parents, seed=3).run(np.broadcast_to(start, (n, 4, 4)), 1)
    codes = run.adjacency.reshape(n, 16).astype(np.int64) @ (1 << np.arange(16))
    freq = np.bincount(codes, minlength=1 << 16) / n
    want = np.zeros(1 << 16)
    for key, p in exact.items():
        want[np.frombuffer(key, dtype=bool).astype(np.int64) @ (1 << np.arange(16))] = p
    assert not freq[want == 0].any()  # no cyclic graph, no max_parents violation
    assert 0.5 * np.abs(freq - want).sum() < 0.012


def test_bit_selection_and_bounded_draws_are_exact() -> None:
    """The helpers behind the uniform edge and free-pair draws: the r-th set bit of a mask (by
    table for d <= 8, a byte at a time above) and uniform integers below per-chain bounds."""
    from emily.cognition.polish import _select_bit, _uniform_below

    rng = np.random.default_rng(0)
    for d in (3, 8, 20, 62):
        masks = rng.integers(1, 1 << d, size=2000, dtype=np.int64)
        ones = np.bitwise_count(masks).astype(np.int64)
        rank = (rng.random(2000) * ones).astype(np.int64)
        pairs = zip(masks.tolist(), rank.tolist(), strict=True)
        want = [[p for p in range(d) if m >> p & 1][r] for m, r in pairs]
        assert _select_bit(masks, rank, d).tolist() == want
    bound = np.array([1, 2, 3, 7, 380, 3782] * 20_000)
    draws = _uniform_below(rng, bound)
    assert ((draws >= 0) & (draws < bound)).all()
    sevens = draws[bound == 7]
    assert np.abs(np.bincount(sevens, minlength=7) / sevens.size - 1 / 7).max() < 0.01


def test_wide_graphs_use_the_dict_cache_and_stay_acyclic() -> None:
    """Above 57 nodes the packed cache key would overflow an int64; the dict cache gives the
    same scores. Above 62 nodes the bitmasks would, so such scores are refused."""
    data = np.random.default_rng(0).normal(size=(80, 60))
    score = BGeScore(data)
    run = EdgeMH(score, max_parents=2, seed=0).run(np.zeros((40, 60, 60), dtype=bool), 30)
    assert 0.0 < run.acceptance < 1.0
    assert int(run.adjacency.sum(1).max()) <= 2
    reach = run.adjacency.astype(np.int64)
    for _ in range(6):  # closure of paths up to 64 edges
        reach = np.minimum(reach + reach @ reach, 1)
    assert not np.einsum("nii->n", reach).any()
    nodes, masks = np.array([0, 59, 3]), np.array([1 << 59, 1 << 58 | 1, 0])
    got = ScoreCache(score)(nodes, masks)
    want = [score.local_score(0, [59]), score.local_score(59, [0, 58]), score.local_score(3, [])]
    assert np.allclose(got, want)
    with pytest.raises(InputError):
        EdgeMH(BGeScore(np.random.default_rng(0).normal(size=(80, 63))))
