"""Causal-structure hypotheses: DAGs over ``d`` observed variables, scored by a Bayesian score.

Each action adds one edge ``i -> j`` (action ``i * d + j``) that keeps the graph acyclic, or stops
(action ``d * d``). The state carries the adjacency matrix, its reflexive transitive closure
(``closure[u, v]``: a directed path ``u -> ... -> v`` exists, ``u == v`` included), each node's
parent bitmask and the running log-reward. Adding ``i -> j`` is allowed iff the edge is absent and
``closure[j, i]`` is false; afterwards ``closure |= closure[:, i] (x) closure[j, :]`` and the score
moves by ``local(j, Pa_j + i) - local(j, Pa_j)``, so neither acyclicity nor the score is ever
recomputed from scratch. The log-reward is ``log p(D | G) + log p(G)`` minus the empty graph's
value (a constant, so the sampled posterior is unchanged and log Z stays near 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from emily.cognition.envs.base import Environment, State
from emily.cognition.scores import DecomposableScore, LocalScores
from emily.core.errors import InputError

# OEIS A003024: labelled DAGs on d nodes (what exact enumeration must visit).
NUM_DAGS = [1, 1, 3, 25, 543, 29281, 3781503]
ENUMERABLE_MAX_NODES = 5


class DAGHypotheses(Environment):
    """DAGs over the columns of a data table, sampled in proportion to their posterior."""

    name = "dag"

    def __init__(
        self,
        score: DecomposableScore,
        max_parents: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(device)
        d = score.n_nodes
        if max_parents is not None and not 0 <= max_parents < d:
            raise InputError(f"max_parents must be in [0, {d - 1}], got {max_parents!r}")
        if d > 62:
            raise InputError(f"DAGHypotheses supports at most 62 variables, got {d}")
        self.score, self.d, self.max_parents = score, d, max_parents
        self.columns: list[str] = list(getattr(score, "columns", [f"x{j}" for j in range(d)]))
        self.n_actions = d * d + 1
        self.obs_dim = 2 * d * d
        self.max_steps = d * (d - 1) // 2 if max_parents is None else d * max_parents
        self.local = LocalScores(score, self.device, max_parents)
        self._eye = torch.eye(d, dtype=torch.bool, device=self.device)
        self._bits = (1 << torch.arange(d, device=self.device)).long()
        self.exact_keys = d * d <= 62
        if self.exact_keys:  # the key is the edge bitmask itself
            self._pow = (1 << torch.arange(d * d, device=self.device)).long()
        else:  # a seeded random linear hash (int64 wrap-around); collisions are improbable
            gen = torch.Generator().manual_seed(0x5EED)
            self._pow = torch.randint(1, 2**62, (d * d,), generator=gen).to(self.device)
        empty_mask = torch.zeros(d, dtype=torch.long, device=self.device)
        nodes = torch.arange(d, device=self.device)
        self.empty_score = float(self.local.lookup(nodes, empty_mask).sum())

    # --- interface ----------------------------------------------------------------------------
    def initial_state(self, n: int) -> State:
        d, dev = self.d, self.device
        return {
            "adj": torch.zeros(n, d, d, dtype=torch.bool, device=dev),
            "closure": self._eye.expand(n, d, d).clone(),
            "pmask": torch.zeros(n, d, dtype=torch.long, device=dev),
            "score": torch.zeros(n, dtype=torch.float64, device=dev),
        }

    def obs(self, state: State) -> torch.Tensor:
        adj, clo = state["adj"], state["closure"]
        return torch.cat([adj.flatten(1), clo.transpose(1, 2).flatten(1)], dim=1).float()

    def forward_mask(self, state: State) -> torch.Tensor:
        allowed = ~(state["adj"] | state["closure"].transpose(1, 2))
        if self.max_parents is not None:
            full = state["adj"].sum(1) >= self.max_parents  # [B, d]: node j has max parents
            allowed &= ~full.unsqueeze(1)
        stop = torch.ones(allowed.shape[0], 1, dtype=torch.bool, device=self.device)
        return torch.cat([allowed.flatten(1), stop], dim=1)

    def backward_mask(self, state: State) -> torch.Tensor:
        return state["adj"].flatten(1)

    def step(self, state: State, actions: torch.Tensor) -> State:
        d = self.d
        is_edge = actions < d * d
        a = torch.where(is_edge, actions, torch.zeros_like(actions))
        src, dst = a // d, a % d
        rows = torch.arange(a.shape[0], device=self.device)
        adj = state["adj"].clone()
        adj[rows, src, dst] |= is_edge
        clo = state["closure"]
        reach_src = clo[rows, :, src]  # [B, d]: u reaches src
        from_dst = clo[rows, dst, :]  # [B, d]: dst reaches v
        new_paths = reach_src.unsqueeze(2) & from_dst.unsqueeze(1) & is_edge.view(-1, 1, 1)
        pmask = state["pmask"]
        old_dst_mask = pmask[rows, dst]
        delta = self.local.delta(src, dst, old_dst_mask)
        pmask = pmask.clone()
        pmask[rows, dst] = torch.where(is_edge, old_dst_mask | self._bits[src], old_dst_mask)
        score = state["score"] + torch.where(is_edge, delta, torch.zeros_like(delta))
        return {"adj": adj, "closure": clo | new_paths, "pmask": pmask, "score": score}

    def states_along(
        self, actions: torch.Tensor, traj: torch.Tensor, step: torch.Tensor
    ) -> State | None:
        """Every prefix state of known paths at once: a DAG state depends only on its edge set.

        A visit's adjacency is the edges its path adds before position ``step``; its closure
        comes from Warshall's algorithm on per-node reach bitmasks (``d`` rounds of a few array
        operations for all visits together), its score is the sum of the earlier visits' score
        changes (two batched look-ups a visit), added in path order as :meth:`step` adds them.
        """
        d, n_edges = self.d, self.d * self.d
        n, length = actions.shape
        position = torch.full((n, n_edges + 1), length, dtype=torch.long, device=self.device)
        order = torch.arange(length, device=self.device).expand(n, length)
        position.scatter_(1, actions, order)  # an edge is added once; the stop column is unused
        adj = (position[traj, :n_edges] < step.unsqueeze(1)).view(-1, d, d)
        bits = self._bits
        reach = (adj.long() * bits).sum(-1) | bits  # [V, u]: bit w if u reaches w (itself too)
        for k in range(d):
            reach = reach | ((reach >> k) & 1) * reach[:, k : k + 1]
        closure = (reach.unsqueeze(-1) >> torch.arange(d, device=self.device)) & 1 == 1
        pmask = (adj.transpose(1, 2).long() * bits).sum(-1)  # [V, j]: bit i if i -> j
        # The running score, summed in path order as step() sums it: each visit's own move.
        act = actions[traj, step]
        (edge,) = (act < n_edges).nonzero(as_tuple=True)
        src, dst = act[edge] // d, act[edge] % d
        moved = torch.zeros(n, length + 1, dtype=torch.float64, device=self.device)
        moved[traj[edge], step[edge] + 1] = self.local.delta(src, dst, pmask[edge, dst])
        score = moved.cumsum(1)[traj, step]
        return {"adj": adj, "closure": closure, "pmask": pmask, "score": score}

    def guide(self, state: State) -> torch.Tensor:
        """Forward-looking logits: each edge's exact score gain minus ``log(|E| + 1)``, stop 0.

        For modified detailed balance with a uniform backward policy the optimal forward
        policy satisfies ``logit(i -> j) - logit(stop) = gain(i -> j) - log(|E'|) + phi(s')``
        with ``|E'| = |E| + 1`` the edges after the move and ``phi(s') = -log P_F(stop | s')``.
        Every term but ``phi`` is known exactly here, so the network only learns ``phi``, a
        log-count of the graphs still reachable, instead of score differences of hundreds of
        nats (Pan et al. 2023, forward-looking GFlowNets, for spaces with rewards on every
        state).
        """
        b, d = state["pmask"].shape
        nodes = torch.arange(d, device=self.device).expand(b, d).reshape(-1)
        gain = self.local.gains(nodes, state["pmask"].reshape(-1)).view(b, d, d)  # [b, j, i]
        n_edges = state["adj"].flatten(1).sum(-1, keepdim=True).double()
        edges = gain.transpose(1, 2).flatten(1) - torch.log1p(n_edges)
        stop = torch.zeros_like(n_edges)
        return torch.cat([edges, stop], dim=1).float()

    def log_reward(self, state: State) -> torch.Tensor:
        return state["score"]

    def actions_from_adjacency(
        self, adjacency: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(actions [m, max_steps + 1], keys [m], log_reward [m])`` of DAGs given as
        adjacency matrices: one trajectory each (its edges in row-major order, then stops; the
        replay buffer shuffles the order), so graphs found elsewhere can be replayed."""
        adj = torch.as_tensor(np.asarray(adjacency, dtype=bool), device=self.device)
        if adj.ndim != 3 or adj.shape[1:] != (self.d, self.d):
            raise InputError(f"adjacency must be [m, {self.d}, {self.d}], got {tuple(adj.shape)}")
        m, length = adj.shape[0], self.max_steps + 1
        flat = adj.flatten(1)
        n_edges = flat.sum(-1)
        if bool((n_edges > self.max_steps).any()):
            raise InputError(f"a graph has more than {self.max_steps} edges")
        actions = torch.full((m, length), self.stop_action, dtype=torch.long, device=self.device)
        rows, cols = flat.nonzero(as_tuple=True)
        position = torch.arange(rows.numel(), device=self.device) - torch.repeat_interleave(
            torch.cumsum(n_edges, 0) - n_edges, n_edges
        )
        actions[rows, position] = cols
        parents = adj.transpose(1, 2)  # parents[k, j, i]: i -> j
        masks = (parents.long() * self._bits).sum(-1)  # [m, d] parent bitmasks
        nodes = torch.arange(self.d, device=self.device).expand(m, self.d)
        local = self.local.lookup(nodes.reshape(-1), masks.reshape(-1)).view(m, self.d)
        log_reward = local.sum(-1) - self.empty_score
        return actions, self.key({"adj": adj}), log_reward

    def key(self, state: State) -> torch.Tensor:
        return (state["adj"].flatten(1).long() * self._pow).sum(-1)

    def embed(self, state: State) -> torch.Tensor:
        return state["adj"].flatten(1).float()

    def state_from(self, raw: Any) -> State:
        """A one-row state from an adjacency matrix (``raw[i][j]`` true: edge i -> j)."""
        adj = torch.as_tensor(np.asarray(raw), device=self.device)
        if adj.shape != (self.d, self.d):
            raise InputError(
                f"adjacency must have shape ({self.d}, {self.d}), got {tuple(adj.shape)}"
            )
        if adj.dtype.is_floating_point and not torch.isfinite(adj).all():
            raise InputError("adjacency contains NaN or infinite values")
        if not ((adj == 0) | (adj == 1)).all():
            raise InputError("adjacency entries must be 0/1 (or booleans)")
        adj = adj.bool()
        if adj.diagonal().any():
            raise InputError("adjacency has self-loops; a DAG has none")
        state = self.initial_state(1)
        for i, j in adj.nonzero().tolist():
            state = self._add_checked(state, i, j)
        return state

    def _add_checked(self, state: State, i: int, j: int) -> State:
        if bool(state["closure"][0, j, i]):
            raise InputError(f"adjacency has a directed cycle through edge {i} -> {j}")
        if self.max_parents is not None and int(state["adj"][0, :, j].sum()) >= self.max_parents:
            raise InputError(f"node {j} exceeds max_parents={self.max_parents}")
        return self.step(state, torch.tensor([i * self.d + j], device=self.device))

    def describe(self, state: State) -> list[Any]:
        out = []
        for adj in state["adj"]:
            out.append([(self.columns[i], self.columns[j]) for i, j in adj.nonzero().tolist()])
        return out

    def spec(self) -> dict[str, Any]:
        return {"kind": self.name, "score": self.score.spec(), "max_parents": self.max_parents}

    # --- optional -----------------------------------------------------------------------------
    def full_log_reward(self, state: State) -> torch.Tensor:
        """Log-reward recomputed from scratch (for checks; the sampler uses the running score)."""
        out = [self.score.score_graph(a.cpu().numpy()) - self.empty_score for a in state["adj"]]
        return torch.tensor(out, dtype=torch.float64, device=self.device)

    @property
    def enumerable(self) -> bool:
        return self.d <= ENUMERABLE_MAX_NODES

    def enumerate_states(self) -> State:
        """All DAGs (29,281 for d = 5), breadth-first from the empty graph."""
        if not self.enumerable:
            raise InputError(
                f"exact enumeration supports d <= {ENUMERABLE_MAX_NODES}, got {self.d}"
            )
        frontier = self.initial_state(1)
        levels = [frontier]
        n_edge_actions = self.d * self.d
        while True:
            mask = self.forward_mask(frontier)[:, :n_edge_actions]
            rows, acts = mask.nonzero(as_tuple=True)
            if rows.numel() == 0:
                break
            children = self.step({k: v[rows] for k, v in frontier.items()}, acts)
            _, first = _unique_first(self.key(children))
            frontier = {k: v[first] for k, v in children.items()}
            levels.append(frontier)
        return {k: torch.cat([lv[k] for lv in levels]) for k in levels[0]}

    def level(self, state: State) -> torch.Tensor:
        return state["adj"].flatten(1).sum(-1)


def _unique_first(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unique keys and the index of the first occurrence of each."""
    uniq, inverse = torch.unique(keys, return_inverse=True)
    first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long, device=keys.device)
    first.scatter_reduce_(0, inverse, torch.arange(keys.numel(), device=keys.device), "amin")
    return uniq, first


def structural_hamming_distance(a: Any, b: Any) -> int:
    """SHD between two DAG adjacency matrices: additions + deletions + reversals (each 1)."""
    x, y = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if x.shape != y.shape or x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise InputError(f"SHD needs two square matrices of one shape, got {x.shape}, {y.shape}")
    skel_x, skel_y = x | x.T, y | y.T
    diff_skeleton = int(np.triu(skel_x ^ skel_y, 1).sum())
    both = np.triu(skel_x & skel_y, 1)
    reversed_ = int((both & (x != y)[...]).sum())
    return diff_skeleton + reversed_
