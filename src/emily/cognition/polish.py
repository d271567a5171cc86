"""An exact Metropolis–Hastings polish for sampled DAGs, with edge-focused proposals.

Why: a DAG GFlowNet trained for a minute at d = 20 samples graphs a few low-probability edges
too rich (its softmax over ``d^2`` moves leaks mass to edges the posterior does not hold), and
any MH kernel that leaves the posterior invariant can only move its draws closer to it (total
variation never grows under a ``pi``-invariant kernel). MC³'s uniform pair proposal is a poor
kernel for that job: a given edge is proposed for deletion once per ``d (d - 1)`` steps, so
removing a spurious edge takes a sweep. This kernel proposes moves *of the edges that exist*:

* delete a uniformly chosen edge (probability ``p_d``), or reverse one (``p_r``), or
* add a uniformly chosen ordered pair ``(i, j)`` with neither ``i -> j`` nor ``j -> i`` (``p_a``),

and corrects the asymmetry with the Hastings ratio: deleting one of ``k`` edges is undone by
adding it back, one of the ``N - 2 (k - 1)`` free ordered pairs of the smaller graph
(``N = d (d - 1)``), so ``log alpha = delta + log(p_a / (N - 2k + 2)) - log(p_d / k)``;
additions are the mirror image; a reversal is undone by reversing back, one of the same ``k``
edges, so it needs no correction. A proposal that closes a cycle or exceeds ``max_parents`` is
rejected (the chain stays), which keeps every ratio above exact.

All chains advance together, one step at a time, as NumPy operations on node-major ``[d, n]``
int64 parent and child bitmasks (hence ``d <= 62``): the edge or free pair is drawn exactly
uniformly from per-chain cumulative bit counts, the local scores come from one memoised batch
look-up per step, and the cycle search is a bitmask breadth-first search over only the chains
whose move the score has accepted. A step is a few dozen array operations whatever ``n``; on a
slow shared 2-core machine a chain-step cost about 0.25 us at d = 4 with 30,000 chains (3 us
as one Python loop per chain) and 1.4-2 us at d = 20 with 2,000-10,000 chains from empty
graphs, cold cache included (9-11 us before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from emily.cognition.equivalence import is_acyclic
from emily.cognition.scores import DecomposableScore, ScoreCache
from emily.core.errors import InputError

if TYPE_CHECKING:
    from emily.cognition.envs import DAGHypotheses
    from emily.cognition.gflownet import Samples

MAX_NODES = 62
"""Largest ``d``: the bitmasks are int64 (the limit of :class:`DAGHypotheses` too)."""

STEPS_PER_VARIABLE = 150
"""The default polish, ``emily sample``'s and the structure-learning benchmark's: 150 steps per
variable (3,000 at d = 20), so each of a graph's ~d edges is proposed for deletion or reversal
some 100 times. Why 150 and not fewer: at d = 20 the polished draws' E-SHD is still falling from
1,000 steps to 3,000 (``benchmarks/dag_polish.py``, ADR 0015), where it meets structure MCMC's
on most instances; a draw then costs about 2 ms at d = 20."""


SNAPSHOTS_PER_CHAIN = 5
"""Most graphs a polish chain gives, ``steps`` apart, when many draws are asked for."""
MIN_POLISH_CHAINS = 1_000
"""Fewest independent chains (policy draws) behind a polished sample, where it has that many."""


def polish_layout(n: int) -> tuple[int, int]:
    """``(chains, snapshots per chain)`` for ``n`` polished draws: at least ``min(n, 1,000)``
    chains, at most :data:`SNAPSHOTS_PER_CHAIN` graphs from each, and fewer than ``keep`` graphs
    polished beyond ``n``.

    Why snapshots: a chain's later graphs have been polished longer, so at the same steps per
    draw they are closer to the posterior than more chains polished once (at d = 20, n = 1,000,
    10,000 draws: E-SHD 6.27 with five a chain against 6.39 with one; the MCMC 6.2); why not
    fewer chains: the policy's draws set the mode weights, and 1,000 starts keep their sampling
    error near a percent. Below 2,000 draws nothing changes: one graph per chain.
    """
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    keep = max(1, min(SNAPSHOTS_PER_CHAIN, n // MIN_POLISH_CHAINS))
    return -(-n // keep), keep


def default_polish_steps(d: int) -> int:
    """Polish steps a DAG over ``d`` variables gets by default (:data:`STEPS_PER_VARIABLE`)."""
    return STEPS_PER_VARIABLE * d


@dataclass(frozen=True)
class Polished:
    """What :meth:`EdgeMH.run` returns."""

    adjacency: np.ndarray  # [keep * n, d, d] bool: every chain after steps, 2 steps, ...
    steps: int  # MH steps between snapshots (the first one too)
    acceptance: float  # accepted / proposed, all graphs
    keep: int = 1  # snapshots per chain


class EdgeMH:
    """Independent MH chains over DAGs, one per input graph, with edge-focused proposals.

    ``mix`` is ``(p_delete, p_reverse, p_add)``; see the module docstring for the ratios.
    """

    def __init__(
        self,
        score: DecomposableScore,
        max_parents: int | None = None,
        *,
        mix: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3),
        seed: int = 0,
    ) -> None:
        d = score.n_nodes
        if d > MAX_NODES:
            raise InputError(f"EdgeMH supports at most {MAX_NODES} variables, got {d}")
        if max_parents is not None and not 0 <= max_parents < d:
            raise InputError(f"max_parents must be None or in [0, {d - 1}], got {max_parents!r}")
        if len(mix) != 3 or min(mix) <= 0 or not math.isclose(sum(mix), 1.0):
            raise InputError(f"mix must be three positive shares summing to 1, got {mix!r}")
        self.score, self.d, self.max_parents = score, d, max_parents
        self.mix = mix
        self._rng = np.random.default_rng(seed)
        self._local = ScoreCache(score)

    def run(self, adjacency: np.ndarray, steps: int, keep: int = 1) -> Polished:
        """Advance one chain from each graph of ``adjacency`` ``[n, d, d]`` by ``keep * steps``
        steps, keeping each chain's graph every ``steps`` steps (snapshot-major: every chain's
        first graph, then every chain's second, ...)."""
        adj = np.asarray(adjacency, dtype=bool)
        if adj.ndim != 3 or adj.shape[1:] != (self.d, self.d):
            raise InputError(f"adjacency must be [n, {self.d}, {self.d}], got {adj.shape}")
        if not isinstance(steps, int) or steps < 0:
            raise InputError(f"steps must be an int >= 0, got {steps!r}")
        if not isinstance(keep, int) or keep < 1:
            raise InputError(f"keep must be an int >= 1 (graphs per chain), got {keep!r}")
        n, d = adj.shape[0], self.d
        if n == 0 or steps == 0:
            unmoved = np.concatenate([adj] * keep)
            return Polished(adjacency=unmoved, steps=steps, acceptance=0.0, keep=keep)
        cyclic = np.flatnonzero(~is_acyclic(adj))
        if cyclic.size:
            raise InputError(
                f"adjacency must hold DAGs: {cyclic.size} of {n} graphs have a directed cycle "
                f"or a self-loop (the first is graph {int(cyclic[0])})"
            )
        bit = np.int64(1) << np.arange(d, dtype=np.int64)
        edges = adj.astype(np.int64)
        # Node-major [d, n] state: NumPy reduces and scans a short leading axis row by row at
        # full speed, a short trailing one element by element.
        pa = np.ascontiguousarray((edges * bit[None, :, None]).sum(1).T)  # [j, c]: bit i if i -> j
        ch = np.ascontiguousarray((edges * bit[None, None, :]).sum(2).T)  # [i, c]: bit j if i -> j
        del edges
        nodes = np.repeat(np.arange(d, dtype=np.int64), n)
        current = self._local(nodes, pa.ravel()).reshape(d, n)  # [j, c]: local score of j
        # log_q_table[move, k]: the Hastings term of a deletion from k edges (move 0), of a
        # reversal (1: none) and of an addition to k edges (2); entries no proposal reaches
        # stay 0.
        n_pairs = d * (d - 1)
        p_del, _, p_add = self.mix
        kk = np.arange(n_pairs // 2 + 1, dtype=np.float64)
        log_q_table = np.zeros((3, kk.size))
        log_q_table[0, 1:] = math.log(p_add / p_del) + np.log(kk[1:] / (n_pairs - 2 * kk[1:] + 2))
        log_q_table[2, :-1] = math.log(p_del / p_add) + np.log(
            (n_pairs - 2 * kk[:-1]) / (kk[:-1] + 1)
        )
        accepted = 0
        shift = np.arange(d, dtype=np.int64)[None, :, None]
        snapshots = []
        for _ in range(keep):
            for _ in range(steps):
                accepted += self._step(pa, ch, current, log_q_table)
            snapshots.append(((pa.T[:, None, :] >> shift) & 1).astype(bool))  # [c, i, j]
        return Polished(
            adjacency=np.concatenate(snapshots),
            steps=steps,
            acceptance=accepted / (n * steps * keep),
            keep=keep,
        )

    def _step(
        self, pa: np.ndarray, ch: np.ndarray, current: np.ndarray, log_q_table: np.ndarray
    ) -> int:
        """One MH step of every chain, in place on the ``[d, n]`` parent and child masks and
        local scores; returns how many chains accepted their proposal."""
        d, rng, mp = self.d, self._rng, self.max_parents
        p_del, p_rev, _ = self.mix
        n = int(pa.shape[1])
        n_pairs = d * (d - 1)
        pa_flat, ch_flat, current_flat = pa.reshape(-1), ch.reshape(-1), current.reshape(-1)
        bit = np.int64(1) << np.arange(d, dtype=np.int64)

        u: np.ndarray = rng.random(n)
        log_u: np.ndarray = -rng.standard_exponential(n)  # log of a uniform on (0, 1]
        edge_move = u < p_del + p_rev
        # Where each chain draws from: its edges (bit i of pa[j]: edge i -> j) for a deletion
        # or a reversal, its free ordered pairs (bit i of free[j]: i -> j may be added).
        free = ~(pa | ch) & (~bit & np.int64((1 << d) - 1))[:, None]
        source = np.where(edge_move, pa, free)
        counts = np.bitwise_count(source)
        cum = np.empty((d, n), dtype=np.int64)
        _cumsum_rows(counts, cum)
        total = cum[-1]  # k for an edge move, N - 2k for an addition
        pick = _uniform_below(rng, np.maximum(total, 1))
        j = (cum <= pick).sum(0)  # the row holding the pick-th set bit (d where none)
        c = np.flatnonzero(total)  # chains with nothing to propose stay put
        if c.size < n:
            if c.size == 0:
                return 0
            j, pick, u, log_u, edge_move, total = (
                x[c] for x in (j, pick, u, log_u, edge_move, total)
            )
        fj = j * n + c  # flat index of (j, c)
        i = _select_bit(source.ravel()[fj], pick - cum.ravel()[fj] + counts.ravel()[fj], d)
        fi = i * n + c
        is_del = u < p_del
        is_rev = edge_move & ~is_del
        # The Hastings term by move and edge count k (0 for a reversal).
        k = np.where(edge_move, total, (n_pairs - total) >> 1)
        log_q = log_q_table[np.where(is_del, 0, np.where(is_rev, 1, 2)), k]

        if mp is not None:  # the node that gains a parent: i on a reversal, j on an addition
            ok = is_del | (np.bitwise_count(pa_flat[np.where(is_rev, fi, fj)]) < mp)
            if not ok.all():
                c, i, j, fi, fj = c[ok], i[ok], j[ok], fi[ok], fj[ok]
                is_del, is_rev, log_q, log_u = is_del[ok], is_rev[ok], log_q[ok], log_u[ok]
                if c.size == 0:
                    return 0

        # Every move flips bit i of pa[j]; a reversal also gives i the parent j.
        rev = np.flatnonzero(is_rev)
        fi_rev = fi[rev]
        new_scores = self._local(
            np.concatenate([j, i[rev]]),
            np.concatenate([pa_flat[fj] ^ bit[i], pa_flat[fi_rev] | bit[j[rev]]]),
        )
        new_j, new_i = new_scores[: c.size], new_scores[c.size :]
        gain = new_j - current_flat[fj]
        gain[rev] += new_i - current_flat[fi_rev]
        accept = log_u <= gain + log_q

        check = np.flatnonzero(accept & ~is_del)
        if check.size:  # a reversal of i -> j needs no path i ~> j, an addition none j ~> i
            rev_check = is_rev[check]
            start = np.where(rev_check, i[check], j[check])
            target = np.where(rev_check, j[check], i[check])
            cycle = _reaches_avoiding_edge(pa, ch, c[check], start, target)
            accept[check[cycle]] = False

        a = np.flatnonzero(accept)
        fia, fja, ia, ja = fi[a], fj[a], i[a], j[a]
        pa_flat[fja] ^= bit[ia]  # delete, reverse (drop i -> j) or add (i -> j)
        ch_flat[fia] ^= bit[ja]
        current_flat[fja] = new_j[a]
        r = np.flatnonzero(is_rev[a])
        if r.size:
            pa_flat[fia[r]] |= bit[ja[r]]
            ch_flat[fja[r]] |= bit[ia[r]]
            current_flat[fia[r]] = new_i[np.searchsorted(rev, a[r])]
        return int(a.size)


def _cumsum_rows(counts: np.ndarray, out: np.ndarray) -> None:
    """``np.cumsum(counts, axis=0, out=out)`` one row at a time (several times faster for the
    ``[d, n]`` shapes here: NumPy's cumsum scans a leading axis element by element)."""
    out[0] = counts[0]
    for row in range(1, counts.shape[0]):
        np.add(out[row - 1], counts[row], out=out[row])


def _uniform_below(rng: np.random.Generator, bound: np.ndarray) -> np.ndarray:
    """Exactly uniform integers in ``[0, bound)`` for each entry of ``bound`` (``1 <= bound <
    2^32``): Lemire's multiply-shift with rejection, a third of ``rng.integers``' cost with an
    array of bounds."""
    out = np.empty(bound.shape, dtype=np.int64)
    todo = np.arange(bound.size)
    b = bound.astype(np.uint64)
    while todo.size:
        m = rng.integers(0, 1 << 32, size=todo.size, dtype=np.uint64) * b
        keep = (m & np.uint64(0xFFFFFFFF)) >= np.uint64(1 << 32) % b
        out[todo[keep]] = m[keep] >> np.uint64(32)
        todo, b = todo[~keep], b[~keep]
    return out


def _select_table() -> np.ndarray:
    table = np.zeros((256, 8), dtype=np.int64)
    for byte in range(256):
        ones = [p for p in range(8) if byte >> p & 1]
        table[byte, : len(ones)] = ones
    return table.ravel()


_SELECT = _select_table()
"""``_SELECT[byte * 8 + r]``: the position of the ``r``-th set bit of ``byte``."""


def _select_bit(masks: np.ndarray, rank: np.ndarray, d: int) -> np.ndarray:
    """Index of the ``rank``-th (from 0) set bit of each of ``masks`` (``d``-bit int64), a
    byte at a time through ``_SELECT``."""
    if d <= 8:
        out: np.ndarray = _SELECT[masks << 3 | rank]
        return out
    out = np.zeros(masks.shape, dtype=np.int64)
    rank = rank.copy()
    for shift in range(0, d, 8):
        byte = (masks >> shift) & 255
        ones = np.bitwise_count(byte).astype(np.int64)
        here = (rank >= 0) & (rank < ones)
        out[here] = shift + _SELECT[byte[here] << 3 | rank[here]]
        rank -= ones
    return out


def _reaches_avoiding_edge(
    pa: np.ndarray, ch: np.ndarray, chains: np.ndarray, start: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Per chain of ``chains`` (``pa``, ``ch``: ``[d, n]`` parent and child bitmasks), whether
    a directed path ``start -> ... -> target`` avoids the edge ``start -> target``: adding
    ``target -> start`` (or reversing ``start -> target`` into it) closes a cycle exactly then.
    A breadth-first search on bitmasks, all chains at once; a chain leaves once it hits the
    target or runs out of new nodes, so at most ``d`` rounds. Chains whose start has no other
    child or whose target no other parent leave before the first."""
    n = pa.shape[1]
    nodes = np.arange(pa.shape[0], dtype=np.int64)[:, None]
    goal = np.int64(1) << target
    found = np.zeros(chains.size, dtype=bool)
    frontier = ch.reshape(-1)[start * n + chains] & ~goal
    seen = (np.int64(1) << start) | frontier
    other_parents = pa.reshape(-1)[target * n + chains] & ~(np.int64(1) << start)
    alive = np.flatnonzero((frontier != 0) & (other_parents != 0))
    while alive.size:
        rows = ch[:, chains[alive]]
        nxt = np.bitwise_or.reduce(np.where((frontier[alive] >> nodes) & 1 == 1, rows, 0), axis=0)
        hit = (nxt & goal[alive]) != 0
        found[alive[hit]] = True
        nxt &= ~seen[alive]
        seen[alive] |= nxt
        frontier[alive] = nxt
        alive = alive[~hit & (nxt != 0)]
    return found


def polish_samples(
    env: DAGHypotheses,
    samples: Samples,
    steps: int,
    *,
    keep: int = 1,
    limit: int | None = None,
    seed: int = 0,
) -> tuple[Samples, Polished]:
    """A DAG GFlowNet's ``samples`` with each graph moved by ``steps`` :class:`EdgeMH` steps
    (``keep`` graphs per chain, ``steps`` apart; the first ``limit`` of them).

    Why: the kernel leaves the posterior invariant, so the draws can only come closer to it
    (what ``emily sample --polish`` offers). Keys, rewards, embeddings and descriptions are those
    of the polished graphs; ``log_pf`` is dropped, as the graphs are no longer the policy's paths.
    """
    import torch

    from emily.cognition.gflownet import Samples

    adjacency = samples.states["adj"].detach().cpu().numpy().astype(bool)
    run = EdgeMH(env.score, env.max_parents, seed=seed).run(adjacency, steps, keep=keep)
    run = replace(run, adjacency=run.adjacency[:limit])  # the run reports what is returned
    polished_adj = run.adjacency
    _, keys, log_reward = env.actions_from_adjacency(polished_adj)
    states = {"adj": torch.as_tensor(polished_adj, device=env.device)}
    polished = Samples(
        states=states,
        log_reward=log_reward,
        keys=keys,
        embeddings=env.embed(states),
        descriptions=env.describe(states),
    )
    return polished, run
