"""Structure MCMC (MC³, Madigan & York 1995): the cognition tier's second sampler over DAGs.

Why a second sampler: a GFlowNet amortises sampling into a trained policy; MC³ needs no training
and is asymptotically exact, so it is both the baseline a GFlowNet must beat for the same CPU
time and an independent check of the posterior it claims to sample.

Target. ``log pi(G) = sum_j score.local_score(j, Pa_j)`` over DAGs with at most ``max_parents``
parents per node: the same decomposable score and modular edge prior the GFlowNet's
:class:`~emily.cognition.envs.DAGHypotheses` rewards (there minus the empty graph's constant).

Proposal. Each step draws one ordered pair ``(i, j)``, ``i != j``, uniformly from the
``d (d - 1)`` pairs, and the pair fixes the move: if ``i -> j`` is present, delete it; if
``j -> i`` is present, reverse it into ``i -> j``; otherwise add ``i -> j``. Every graph in the
add / delete / reverse neighbourhood of ``G`` is thus proposed with probability exactly
``1 / (d (d - 1))``, and the inverse move is proposed with the same probability (delete
``i -> j`` <-> add ``i -> j`` both come from pair ``(i, j)``; reversing ``j -> i`` via ``(i, j)``
is undone by ``(j, i)``). The proposal is symmetric, so no Hastings correction for neighbourhood
sizes is needed: a move to a cyclic graph, or one that gives a node more than ``max_parents``
parents, is a proposal outside the support and is rejected (the chain stays, which MH allows).
Counting only the valid neighbours instead would make the proposal asymmetric and need the ratio
``|nbd(G)| / |nbd(G')|``, which costs ``O(d^2)`` reachability queries per step to compute.

Acceptance. ``min(1, pi(G') / pi(G))``, with ``log pi(G') - log pi(G)`` the change of one local
term (add, delete) or two (reverse).

Cost per step. Graphs are kept as per-node parent and child bitmasks (Python ints); local scores
are memoised by ``(node, parent mask)`` in one dict per node, so a step costs a few dict look-ups
and two random numbers (pair, acceptance; always two, so a run does not depend on what the cache
holds and a reloaded sampler continues identically). Acyclicity is a bitmask breadth-first search
for a path ``j -> ... -> i`` over the descendants of ``j`` (deletions never need it), run after
the score has accepted the move when its local terms are cached (most proposals are rejected by
the score, which then costs nothing more), and before scoring when they are not: a cache miss
costs a ``local_score`` call (two small log-determinants for BGe, tens of microseconds), dearer
than the search, and in dense graphs many proposed additions close a cycle.

Chains. All chains start from the empty graph: it is valid under any ``max_parents``, is where
the GFlowNet starts too, needs no DAG sampler of its own, and makes a run a pure function of
the seed; the chains diverge through their own random streams within the first sweep. Chains
are advanced in turn and their samples pooled.

Tempering (``betas``, off by default: the plain MC³ is the benchmark's baseline). With inverse
temperatures ``betas = (1, b_1, ..., b_{K-1})`` each sampled chain gets ``K - 1`` companions
that target ``pi(G)^b_k``: flatter, so they cross between modes that a one-edge move at
``b = 1`` leaves only through graphs thousands of times less likely (a collider of five parents
broken and re-formed). Every :func:`swap_interval` steps one random pair of neighbouring rungs
proposes to exchange graphs, accepted with ``min(1, exp((b_a - b_b)(log pi_b - log pi_a)))``
(parallel tempering: each rung keeps its own target invariant), so a mode a hot rung found
reaches the sampled chain with its posterior weight. Only the ``b = 1`` chains are sampled;
a ladder of ``K`` rungs costs ``K`` times the steps per kept graph.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emily.cognition.checkpoints import read_checkpoint
from emily.cognition.scores import DecomposableScore, parents_of, score_from_spec
from emily.core.clock import Clock, system_clock
from emily.core.errors import InputError

FORMAT = "emily-mcmc-1"
BURN_IN_SWEEPS = 20
"""Default burn-in per chain, in sweeps of ``d (d - 1)`` steps (each move proposed once on
average per sweep)."""
BURN_IN_FRACTION = 0.25
"""With a wall budget the default burn-in also stops once this share of the budget is spent."""
CACHE_LIMIT = 4_000_000
"""Memoised local scores kept before the cache is emptied (about 90 bytes each, so ~370 MB): a
d = 50 chain meets ~1M new parent sets a minute. Emptying it changes no sample, only speed."""
_SWAP_STREAM = 1 << 30  # the chain index of the swap proposals' random stream
_CLOCK_EVERY = 256  # steps per chain between clock reads during a timed burn-in

_DELETE, _REVERSE, _ADD = 0, 1, 2
_ACYCLIC = 4  # flag on a move kind: already checked acyclic, no search needed after acceptance
_Move = tuple[int, float]  # (kind, change of log pi)
_Tick = Callable[[int], None]  # told the number of rounds kept so far


def default_burn_in(d: int) -> int:
    """Burn-in steps per chain: ``BURN_IN_SWEEPS`` sweeps of the ``d (d - 1)`` ordered pairs.

    Why sweeps: a move is proposed with probability ``1 / (d (d - 1))``, so the number of steps
    for the chain to try every edge a few times grows like ``d^2`` (400 steps at d = 5, 49,000
    at d = 50).
    """
    return BURN_IN_SWEEPS * d * (d - 1)


def swap_interval(d: int) -> int:
    """Steps per rung between swap proposals of a tempered ladder: an eighth of a sweep.

    Why not every step: a proposal costs two sums over ``d`` local terms, as much as several
    MH steps, and rungs a few steps apart are still nearly the same graphs they were.
    """
    return max(1, d * (d - 1) // 8)


def default_thin(d: int) -> int:
    """Steps per chain between kept samples: half a sweep, ``d (d - 1) / 2`` (at least 1).

    Why: successive MC³ states differ by at most one edge, so keeping every step stores nearly
    identical graphs; after half a sweep each pair has been proposed about once.
    """
    return max(1, d * (d - 1) // 2)


@dataclass(frozen=True)
class MCMCSamples:
    """Graphs kept by one :meth:`StructureMCMC.sample` call, pooled over chains (round-major)."""

    adjacency: np.ndarray  # [n, d, d] bool, adjacency[k, i, j]: edge i -> j
    log_score: np.ndarray  # [n] float64, sum_j local_score(j, Pa_j) of each sample
    columns: list[str]
    steps: int  # MH steps this call ran, all chains together, burn-in included
    acceptance_rate: float  # accepted / steps of this call (invalid proposals count as rejected)
    seconds: float  # wall time of the call, by the sampler's clock


class _Chain:
    """One chain's graph (parent and child bitmasks), its local terms and its random stream."""

    __slots__ = ("accepted", "beta", "ch", "local", "pa", "rng", "steps")

    def __init__(self, d: int, rng: random.Random, beta: float = 1.0) -> None:
        self.beta = beta  # inverse temperature: the chain targets pi(G) ** beta
        self.pa = [0] * d
        self.ch = [0] * d
        self.local = [0.0] * d
        self.rng = rng
        self.steps = 0
        self.accepted = 0


def reaches_avoiding_edge(ch: list[int], j: int, i: int) -> bool:
    """Whether a directed path ``j -> ... -> i`` avoids the edge ``j -> i`` (``ch``: child
    bitmasks): adding ``i -> j`` (or reversing ``j -> i`` into it) closes a cycle exactly then."""
    target = 1 << i
    seen = 1 << j
    frontier = ch[j] & ~target
    while frontier:
        seen |= frontier
        nxt = 0
        while frontier:
            low = frontier & -frontier
            nxt |= ch[low.bit_length() - 1]
            frontier ^= low
        if nxt & target:
            return True
        frontier = nxt & ~seen
    return False


class StructureMCMC:
    """MC³ over DAGs targeting ``sum_j score.local_score(j, Pa_j)``; see the module docstring."""

    def __init__(
        self,
        score: DecomposableScore,
        max_parents: int | None = None,
        *,
        chains: int = 4,
        betas: Sequence[float] = (1.0,),
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(score, DecomposableScore):
            raise InputError(f"score must be a DecomposableScore, got {type(score).__name__}")
        d = score.n_nodes
        if max_parents is not None and (not _is_int(max_parents) or not 0 <= max_parents < d):
            raise InputError(f"max_parents must be None or in [0, {d - 1}], got {max_parents!r}")
        if not _is_int(chains) or chains < 1:
            raise InputError(f"chains must be an integer >= 1, got {chains!r}")
        if not _is_int(seed):
            raise InputError(f"seed must be an integer, got {seed!r}")
        self.betas = _check_betas(betas)
        self.score, self.d, self.max_parents = score, d, max_parents
        self.n_chains, self.seed = chains, seed
        self.clock = clock or system_clock()
        self.columns: list[str] = list(getattr(score, "columns", [f"x{j}" for j in range(d)]))
        self._cache: list[dict[int, float]] = [{} for _ in range(d)]
        self._cached = 0
        self._chains = [_Chain(d, random.Random(_chain_seed(seed, c))) for c in range(chains)]
        hot = len(self.betas) - 1
        self._hot = [
            [
                _Chain(d, random.Random(_chain_seed(seed, chains + c * hot + k)), beta)
                for k, beta in enumerate(self.betas[1:])
            ]
            for c in range(chains)
        ]
        for chain in self._every_chain():
            chain.local = [self._local(j, 0) for j in range(d)]
        self._swap_rng = random.Random(_chain_seed(seed, _SWAP_STREAM))
        self._swap_every = swap_interval(d)
        self._since_swap = [0] * chains
        self.swaps_proposed = [0] * hot  # per neighbouring pair of rungs
        self.swaps_accepted = [0] * hot

    # --- public -------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """MH steps run so far by all chains together (tempered rungs too), over every
        :meth:`sample` call."""
        return sum(c.steps for c in self._every_chain())

    @property
    def accepted(self) -> int:
        """MH steps accepted so far by all chains together (tempered rungs too)."""
        return sum(c.accepted for c in self._every_chain())

    @property
    def swap_rates(self) -> list[float]:
        """Accepted share of the swaps proposed between each pair of neighbouring rungs (a
        tempered sampler's health: a pair that never swaps splits the ladder in two)."""
        pairs = zip(self.swaps_accepted, self.swaps_proposed, strict=True)
        return [a / p if p else 0.0 for a, p in pairs]

    def graphs(self) -> list[list[int]]:
        """Each chain's current graph as per-node parent bitmasks (copies)."""
        return [list(c.pa) for c in self._chains]

    def set_graph(self, chain: int, parents: Sequence[int]) -> None:
        """Put a graph (per-node parent bitmasks, acyclic) into chain ``chain``: how another
        kernel (``cognition.correction``'s GFlowNet moves) hands the chains a state it accepted."""
        self._set_graph(self._chains[chain], [int(p) for p in parents])

    def advance(self, n_steps: int) -> None:
        """``n_steps`` MH steps of every chain, keeping nothing (read :meth:`graphs` after)."""
        for c in range(self.n_chains):
            self._advance_ladder(c, n_steps)

    def share_scores(self, other: StructureMCMC) -> None:
        """Use ``other``'s memoised local scores (same score): chains started from its graphs
        then pay for no score it already computed."""
        if other.score is not self.score:
            raise InputError("only an MCMC over the same score can share its local scores")
        self._cache = other._cache

    def sample(
        self,
        n_samples: int,
        *,
        burn_in: int | None = None,
        thin: int | None = None,
        seconds: float | None = None,
        progress: bool = False,
    ) -> MCMCSamples:
        """Continue the chains and keep ``n_samples`` graphs, pooled over chains.

        ``burn_in``: steps per chain run before anything is kept; by default whatever is left of
        :func:`default_burn_in` (so a second call, which continues the chains, burns in no more).
        ``thin``: steps per chain between kept graphs, :func:`default_thin` by default.
        ``seconds``: a wall budget instead of ``thin``: the chains run until it is spent and
        ``thin`` doubles as samples pile up, so the kept graphs are spread evenly over the whole
        run (the burn-in included in the budget; the default one stops after
        ``BURN_IN_FRACTION`` of it). If the budget is too short for ``n_samples`` at thin 1, the
        chains run on until they are kept.
        """
        self._check_sample_args(n_samples, burn_in, thin, seconds)
        start = self.clock.monotonic()
        steps0, acc0 = self.steps, self.accepted
        with _progress_bar(progress) as tick:
            if seconds is None:
                self._burn_in(self._burn_in_steps(burn_in), None)
                records = self._collect_fixed(n_samples, thin or default_thin(self.d), tick)
            else:
                budget_end = start + seconds
                burn_end = start + BURN_IN_FRACTION * seconds if burn_in is None else budget_end
                self._burn_in(self._burn_in_steps(burn_in), burn_end)
                records = self._collect_timed(n_samples, budget_end, tick)
        steps = self.steps - steps0
        accepted = self.accepted - acc0
        masks = [m for m, _ in records]
        return MCMCSamples(
            adjacency=masks_to_adjacency(masks, self.d),
            log_score=np.array([s for _, s in records], dtype=np.float64),
            columns=list(self.columns),
            steps=steps,
            acceptance_rate=accepted / steps if steps else 0.0,
            seconds=self.clock.monotonic() - start,
        )

    def kernel(self, adjacency: Any) -> list[tuple[np.ndarray, float]]:
        """The exact one-step transition row from a DAG: ``(next graph, probability)`` pairs.

        Why: built from the same proposal, acceptance and acyclicity code the chains run, so a
        brute-force detailed-balance check over all DAGs of a tiny ``d`` tests the sampler itself.
        Staying put is the last entry; pairs leading to one graph are not merged.
        """
        probe = _Chain(self.d, random.Random(0))
        self._set_graph(probe, _adjacency_to_masks(adjacency, self.d))
        share = 1.0 / (self.d * (self.d - 1))
        row: list[tuple[np.ndarray, float]] = []
        for i in range(self.d):
            for j in range(self.d):
                move = self._propose(probe, i, j) if i != j else None
                if move is None or (0 < move[0] < _ACYCLIC and self._reaches(probe.ch, j, i)):
                    continue
                nxt = _Chain(self.d, probe.rng)
                self._set_graph(nxt, list(probe.pa))
                self._apply(nxt, move[0] & 3, i, j)
                row.append((masks_to_adjacency([nxt.pa], self.d)[0], share * _accept(move[1])))
        stay = 1.0 - sum(p for _, p in row)
        row.append((masks_to_adjacency([probe.pa], self.d)[0], stay))
        return row

    def save(self, path: str | Path) -> Path:
        """Write the score spec, ``max_parents``, the ladder, chain graphs, random states and
        step counts (every chain, sampled ones first, then each one's tempered rungs)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        chains = list(self._every_chain())
        graphs = masks_to_adjacency([c.pa for c in chains], self.d)
        torch.save(
            {
                "format": FORMAT,
                "score": self.score.spec(),
                "max_parents": self.max_parents,
                "chains": self.n_chains,
                "betas": list(self.betas),
                "seed": self.seed,
                "graphs": torch.from_numpy(graphs),
                "rng": torch.tensor([_rng_words(c.rng) for c in chains], dtype=torch.int64),
                "steps": torch.tensor([c.steps for c in chains], dtype=torch.int64),
                "accepted": torch.tensor([c.accepted for c in chains], dtype=torch.int64),
                "swap_rng": torch.tensor(_rng_words(self._swap_rng), dtype=torch.int64),
                "since_swap": list(self._since_swap),
                "swaps": [list(self.swaps_proposed), list(self.swaps_accepted)],
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path, *, clock: Clock | None = None) -> StructureMCMC:
        """Rebuild a sampler from :meth:`save`; it continues exactly where the saved one was."""
        blob, where = read_checkpoint(path, "MCMC")
        if blob.get("format") != FORMAT:
            raise InputError(f"{where} is not an Emily MCMC checkpoint ({FORMAT})")
        mcmc = cls(
            score_from_spec(blob["score"]),
            blob["max_parents"],
            chains=int(blob["chains"]),
            betas=blob.get("betas", (1.0,)),  # checkpoints before tempering: one rung
            seed=int(blob["seed"]),
            clock=clock,
        )
        graphs = blob["graphs"].numpy()
        for c, chain in enumerate(mcmc._every_chain()):
            mcmc._set_graph(chain, _adjacency_to_masks(graphs[c], mcmc.d))
            chain.rng.setstate(_rng_state(blob["rng"][c]))
            chain.steps = int(blob["steps"][c])
            chain.accepted = int(blob["accepted"][c])
        if "swap_rng" in blob:
            mcmc._swap_rng.setstate(_rng_state(blob["swap_rng"]))
            mcmc._since_swap = [int(k) for k in blob["since_swap"]]
            mcmc.swaps_proposed, mcmc.swaps_accepted = ([int(k) for k in x] for x in blob["swaps"])
        return mcmc

    # --- sampling schedule --------------------------------------------------------------------
    def _check_sample_args(
        self, n_samples: int, burn_in: int | None, thin: int | None, seconds: float | None
    ) -> None:
        if not _is_int(n_samples) or n_samples < 1:
            raise InputError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        if burn_in is not None and (not _is_int(burn_in) or burn_in < 0):
            raise InputError(f"burn_in must be an integer >= 0 (steps per chain), got {burn_in!r}")
        if thin is not None and (not _is_int(thin) or thin < 1):
            raise InputError(f"thin must be an integer >= 1 (steps per chain), got {thin!r}")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise InputError(f"seconds must be a number >= 0, got {seconds!r}")
            if not math.isfinite(seconds) or seconds < 0:
                raise InputError(f"seconds must be finite and >= 0, got {seconds!r}")
            if thin is not None:
                raise InputError("give thin or seconds, not both: a wall budget chooses thin")

    def _burn_in_steps(self, burn_in: int | None) -> int:
        if burn_in is not None:
            return burn_in
        done = min(c.steps for c in self._chains)
        return max(0, default_burn_in(self.d) - done)

    def _burn_in(self, steps: int, until: float | None) -> None:
        """Advance every chain ``steps`` steps in turn, stopping early at time ``until``."""
        block = steps if until is None else _CLOCK_EVERY
        left = steps
        while left > 0:
            if until is not None and self.clock.monotonic() >= until:
                return
            run = min(block, left)
            for c in range(self.n_chains):
                self._advance_ladder(c, run)
            left -= run

    def _collect_fixed(self, n: int, thin: int, tick: _Tick) -> list[tuple[list[int], float]]:
        rounds = []
        for _ in range(-(-n // self.n_chains)):
            rounds.append(self._round(thin))
            tick(len(rounds))
        return [r for rnd in rounds for r in rnd][:n]

    def _collect_timed(self, n: int, until: float, tick: _Tick) -> list[tuple[list[int], float]]:
        """Keep a round every ``thin`` steps; when ``2 * need`` rounds are kept, drop every
        other one and double ``thin``. The kept rounds stay evenly spaced over the whole run
        whatever the speed, which no thin fixed in advance can promise."""
        need = -(-n // self.n_chains)
        rounds: list[list[tuple[list[int], float]]] = []
        thin = 1
        while len(rounds) < need or self.clock.monotonic() < until:
            rounds.append(self._round(thin))
            if len(rounds) >= 2 * need:
                rounds, thin = rounds[1::2], 2 * thin
            tick(len(rounds))
        picked = [rounds[(k + 1) * len(rounds) // need - 1] for k in range(need)]
        return [r for rnd in picked for r in rnd][:n]

    def _round(self, thin: int) -> list[tuple[list[int], float]]:
        """Advance each chain ``thin`` steps and keep its graph and log-score."""
        out = []
        for c, chain in enumerate(self._chains):
            self._advance_ladder(c, thin)
            out.append((list(chain.pa), math.fsum(chain.local)))
        return out

    def _every_chain(self) -> Iterator[_Chain]:
        yield from self._chains
        for rungs in self._hot:
            yield from rungs

    def _advance_ladder(self, c: int, n_steps: int) -> None:
        """``n_steps`` steps of sampled chain ``c`` and of its tempered rungs, with a swap
        proposal every ``swap_interval(d)`` steps (counted across calls, so how a caller splits
        the steps does not change how often rungs swap)."""
        cold, hot = self._chains[c], self._hot[c]
        if not hot:
            self._advance(cold, n_steps)
            return
        left = n_steps
        while left > 0:
            run = min(left, self._swap_every - self._since_swap[c])
            self._advance(cold, run)
            for rung in hot:
                self._advance(rung, run)
            left -= run
            self._since_swap[c] += run
            if self._since_swap[c] == self._swap_every:
                self._since_swap[c] = 0
                self._swap([cold, *hot])

    def _swap(self, ladder: list[_Chain]) -> None:
        """Propose to exchange the graphs of one random pair of neighbouring rungs."""
        rng = self._swap_rng
        k = int(rng.random() * (len(ladder) - 1))
        u = rng.random()
        a, b = ladder[k], ladder[k + 1]
        log_ratio = (a.beta - b.beta) * (math.fsum(b.local) - math.fsum(a.local))
        self.swaps_proposed[k] += 1
        if log_ratio < 0.0 and u >= math.exp(log_ratio):
            return
        self.swaps_accepted[k] += 1
        a.pa, b.pa = b.pa, a.pa
        a.ch, b.ch = b.ch, a.ch
        a.local, b.local = b.local, a.local

    # --- the chain ----------------------------------------------------------------------------
    def _advance(self, chain: _Chain, n_steps: int) -> None:
        """The inner loop: ``n_steps`` MH steps of one chain (locals bound for speed)."""
        d1 = self.d - 1
        n_pairs = self.d * d1
        rand = chain.rng.random
        propose, reaches, apply = self._propose, self._reaches, self._apply
        ch = chain.ch
        exp = math.exp
        beta = chain.beta  # 1.0 leaves every delta exactly as it was
        accepted = 0
        for _ in range(n_steps):
            i, j = divmod(int(rand() * n_pairs), d1)
            u = rand()  # always drawn, so the stream never depends on what the cache holds
            if j >= i:
                j += 1
            move = propose(chain, i, j)
            if move is None:
                continue
            kind, delta = move
            delta *= beta
            if delta < 0.0 and u >= exp(delta):
                continue
            if 0 < kind < _ACYCLIC and reaches(ch, j, i):
                continue
            apply(chain, kind & 3, i, j)
            accepted += 1
        chain.steps += n_steps
        chain.accepted += accepted

    def _propose(self, chain: _Chain, i: int, j: int) -> _Move | None:
        """The move the ordered pair ``(i, j)`` proposes and its change of ``log pi``; ``None``
        when it would exceed ``max_parents``, or close a cycle and need an uncached score.

        Why the cycle check comes first only on a cache miss: a cached score costs a dict look-up
        and usually gets the move rejected, so the search would be wasted; an uncached one costs
        a ``local_score`` call, dearer than the search, and in dense graphs many additions close
        a cycle. A move checked here carries the ``_ACYCLIC`` flag so the search is not repeated.
        """
        pa, local, cache = chain.pa, chain.local, self._cache
        bi = 1 << i
        if pa[j] & bi:
            return _DELETE, self._local(j, pa[j] ^ bi) - local[j]
        mp = self.max_parents
        if mp is not None and pa[j].bit_count() >= mp:
            return None
        bj = 1 << j
        reverse = pa[i] & bj
        kind = _REVERSE if reverse else _ADD
        if (pa[j] | bi) not in cache[j] or (reverse and pa[i] ^ bj not in cache[i]):
            if self._reaches(chain.ch, j, i):
                return None
            kind |= _ACYCLIC
        gain = self._local(j, pa[j] | bi) - local[j]
        if reverse:
            gain += self._local(i, pa[i] ^ bj) - local[i]
        return kind, gain

    _reaches = staticmethod(reaches_avoiding_edge)

    def _apply(self, chain: _Chain, kind: int, i: int, j: int) -> None:
        """Make the move the pair ``(i, j)`` proposed; only the touched local terms change."""
        pa, ch, local = chain.pa, chain.ch, chain.local
        bi, bj = 1 << i, 1 << j
        if kind == _DELETE:
            pa[j] ^= bi
            ch[i] ^= bj
        else:
            if kind == _REVERSE:
                pa[i] ^= bj
                ch[j] ^= bi
                local[i] = self._local(i, pa[i])
            pa[j] |= bi
            ch[i] |= bj
        local[j] = self._local(j, pa[j])

    def _local(self, node: int, mask: int) -> float:
        """Memoised ``score.local_score`` (score plus modular prior) by parent bitmask."""
        cache = self._cache[node]
        value = cache.get(mask)
        if value is None:
            value = self.score.local_score(node, parents_of(mask, self.d))
            self._cached += 1
            if self._cached > CACHE_LIMIT:
                for table in self._cache:
                    table.clear()
                self._cached = 1
            cache[mask] = value
        return value

    def _set_graph(self, chain: _Chain, pa: list[int]) -> None:
        """Put a graph (parent masks) into a chain, with child masks and local terms to match."""
        d = self.d
        chain.pa = list(pa)
        chain.ch = [sum(1 << j for j in range(d) if pa[j] >> i & 1) for i in range(d)]
        chain.local = [self._local(j, pa[j]) for j in range(d)]


def masks_to_adjacency(masks: list[list[int]], d: int) -> np.ndarray:
    """``[n, d, d]`` bool adjacency from per-node parent bitmasks (any ``d``; no Python loop
    over bits)."""
    width = max(1, -(-d // 8))
    raw = b"".join(m.to_bytes(width, "little") for graph in masks for m in graph)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    parents = bits.reshape(len(masks), d, width * 8)[:, :, :d].astype(bool)  # [k, j, i]
    return np.ascontiguousarray(parents.transpose(0, 2, 1))


def _adjacency_to_masks(adjacency: Any, d: int) -> list[int]:
    adj = np.asarray(adjacency, dtype=bool)
    if adj.shape != (d, d):
        raise InputError(f"adjacency must have shape ({d}, {d}), got {adj.shape}")
    return [sum(1 << int(i) for i in np.flatnonzero(adj[:, j])) for j in range(d)]


def _check_betas(betas: Sequence[float]) -> tuple[float, ...]:
    """Inverse temperatures: the first 1 (the chain sampled), then strictly decreasing in (0, 1)."""
    try:
        out = tuple(float(b) for b in betas)
    except (TypeError, ValueError):
        raise InputError(f"betas must be a sequence of numbers, got {betas!r}") from None
    if not out or out[0] != 1.0:
        raise InputError(f"betas must start at 1.0 (the chain that is sampled), got {out!r}")
    if any(not (0.0 < b < a) for a, b in itertools.pairwise(out)):
        raise InputError(f"betas must decrease strictly and stay above 0, got {out!r}")
    return out


def _accept(delta: float) -> float:
    return 1.0 if delta >= 0.0 else math.exp(delta)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chain_seed(seed: int, chain: int) -> int:
    """Independent streams per chain from one seed (SeedSequence mixes nearby seeds well)."""
    words = np.random.SeedSequence([abs(seed), int(seed < 0), chain]).generate_state(4)
    return int.from_bytes(words.astype(np.uint32).tobytes(), "little")


def _rng_state(words: Any) -> tuple[Any, ...]:
    return (3, tuple(int(w) for w in words.tolist()), None)


def _rng_words(rng: random.Random) -> list[int]:
    state = rng.getstate()
    return [int(w) for w in state[1]]


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[_Tick]:
    """A rich progress line of rounds kept (a no-op when disabled)."""
    if not enabled:
        yield lambda _rounds: None
        return
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]MCMC[/bold] {task.completed} rounds kept"), TimeElapsedColumn()
    )
    with bar:
        task = bar.add_task("mcmc", total=None)
        yield lambda rounds: bar.update(task, completed=rounds)
