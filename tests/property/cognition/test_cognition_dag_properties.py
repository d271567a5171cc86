"""Properties of the DAG space under random walks: acyclicity is never violated, the carried
transitive closure is exact, and the incrementally updated score equals a full recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses
from emily.cognition.scores import BDeuScore, BGeScore


def _is_acyclic(adj: np.ndarray) -> bool:
    """Kahn's algorithm, independent of the environment's closure bookkeeping."""
    indeg = adj.sum(0).astype(int)
    ready = [j for j in range(adj.shape[0]) if indeg[j] == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for j in np.flatnonzero(adj[i]):
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    return seen == adj.shape[0]


def _closure(adj: np.ndarray) -> np.ndarray:
    reach = adj | np.eye(adj.shape[0], dtype=bool)
    for k in range(adj.shape[0]):
        reach = reach | (reach[:, [k]] & reach[[k], :])
    return reach


def _env(d: int, seed: int, discrete: bool, max_parents: int | None) -> DAGHypotheses:
    if discrete:
        rng = np.random.default_rng(seed)
        codes = rng.integers(0, 3, size=(40, d))
        codes[0], codes[1] = 0, 1  # no constant column
        score = BDeuScore(pd.DataFrame(codes))
    else:
        score = BGeScore(synthetic_linear_gaussian(d=d, seed=seed, n=30)[0])
    return DAGHypotheses(score, max_parents=max_parents)


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(2, 6),
    seed=st.integers(0, 10_000),
    discrete=st.booleans(),
    limit=st.sampled_from([None, 1, 2]),
)
def test_random_walks_stay_acyclic_and_scores_match_recomputation(
    d: int, seed: int, discrete: bool, limit: int | None
) -> None:
    max_parents = None if limit is None else min(limit, d - 1)
    env = _env(d, seed, discrete, max_parents)
    gen = torch.Generator().manual_seed(seed)
    batch = 6
    state = env.initial_state(batch)
    for _ in range(env.max_steps + 1):
        mask = env.forward_mask(state)
        edges = mask[:, :-1].float()
        stop_only = edges.sum(1) == 0
        probs = torch.where(stop_only.unsqueeze(1), mask.float(), torch.cat(
            [edges, torch.full((batch, 1), 0.05)], 1))  # fmt: skip
        actions = torch.multinomial(probs, 1, generator=gen).squeeze(1)
        state = env.step(state, actions)
        for b in range(batch):
            adj = state["adj"][b].numpy()
            assert _is_acyclic(adj)
            assert np.array_equal(state["closure"][b].numpy(), _closure(adj))
            if max_parents is not None:
                assert adj.sum(0).max() <= max_parents
        if bool((actions == env.stop_action).all()):
            break
    full = env.full_log_reward(state)
    assert torch.allclose(state["score"], full, atol=1e-6, rtol=1e-9)
    masks = [sum(1 << int(i) for i in np.flatnonzero(a[:, j])) for a in state["adj"].numpy()
             for j in range(d)]  # fmt: skip
    assert state["pmask"].flatten().tolist() == masks


@settings(max_examples=25, deadline=None)
@given(d=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_keys_identify_graphs_and_states_rebuild_from_adjacency(d: int, seed: int) -> None:
    env = _env(d, seed, discrete=False, max_parents=None)
    rng = np.random.default_rng(seed)
    order = rng.permutation(d)
    adj = np.zeros((d, d), dtype=bool)
    for a in range(d):
        for b in range(a + 1, d):
            if rng.random() < 0.5:
                adj[order[a], order[b]] = True
    state = env.state_from(adj)
    assert np.array_equal(state["adj"][0].numpy(), adj)
    bits = sum(1 << (i * d + j) for i, j in zip(*np.nonzero(adj), strict=True))
    assert int(env.key(state)[0]) == bits
    assert (
        float(state["score"][0]) == float(env.full_log_reward(state)[0])
        or abs(float(state["score"][0]) - float(env.full_log_reward(state)[0])) < 1e-6
    )
