"""Decomposable Bayesian scores of a DAG given a data table: BGe (continuous) and BDeu (discrete).

``log p(D, G) = sum_j local(j, Pa_j)`` (plus a modular prior), so adding the edge ``i -> j``
changes only node ``j``'s term. :class:`LocalScores` memoises the local terms by
``(node, parent bitmask)`` (a dense table for small ``d``, a lazy cache above) and the DAG
environment updates the running score per added edge with :meth:`LocalScores.delta`, never
recomputing the whole graph. :meth:`DecomposableScore.score_graph` recomputes from scratch; the
property tests check both agree.

BGe follows Kuipers, Moffa & Heckerman (2014) with the parameterisation of DAG-GFlowNet
(Deleu et al., 2022): ``alpha_mu = 1``, ``alpha_w = d + 2``, prior mean 0. BDeu follows Heckerman,
Geiger & Chickering (1995) with an equivalent sample size (default 1).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from scipy.special import gammaln

from emily.core.errors import InputError

DENSE_TABLE_MAX_NODES = 12


def _as_table(data: Any, what: str) -> np.ndarray:
    """A validated 2-D float64 array from a DataFrame, array or nested list."""
    values = data.to_numpy() if hasattr(data, "to_numpy") else data
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} data must be numeric; could not convert: {exc}") from exc
    if arr.ndim != 2:
        raise InputError(f"{what} data must be a 2-D table (rows x variables), got {arr.ndim}-D")
    n, d = arr.shape
    if n == 0 or d == 0:
        raise InputError(f"{what} data is empty (shape {arr.shape}); need >= 2 rows, >= 2 columns")
    if n < 2:
        raise InputError(f"{what} data needs at least 2 rows, got {n}")
    if d < 2:
        raise InputError(f"{what} data needs at least 2 variables (columns), got {d}")
    if not np.isfinite(arr).all():
        bad = sorted({int(j) for j in np.argwhere(~np.isfinite(arr))[:, 1]})
        raise InputError(f"{what} data contains NaN or infinite values in columns {bad}")
    constant = [int(j) for j in range(d) if np.ptp(arr[:, j]) == 0]
    if constant:
        raise InputError(f"{what} data has constant columns {constant}: they carry no evidence")
    return arr


def column_names(data: Any, d: int) -> list[str]:
    """The table's column names (``x0 .. x{d-1}`` when it has none)."""
    cols = getattr(data, "columns", None)
    return [str(c) for c in cols] if cols is not None else [f"x{j}" for j in range(d)]


def parents_of(mask: int, d: int) -> list[int]:
    """Indices of the bits set in a parent bitmask."""
    return [i for i in range(d) if mask >> i & 1]


class DecomposableScore(ABC):
    """A score whose log is a sum of per-node local terms, with a modular structure prior.

    ``edge_penalty`` puts ``-edge_penalty`` per parent into the log-prior (0 = uniform over DAGs).
    """

    def __init__(self, n_samples: int, n_nodes: int, edge_penalty: float = 0.0) -> None:
        if not math.isfinite(edge_penalty) or edge_penalty < 0:
            raise InputError(f"edge_penalty must be finite and >= 0, got {edge_penalty!r}")
        self.n_samples, self.n_nodes = n_samples, n_nodes
        self.edge_penalty = float(edge_penalty)

    @abstractmethod
    def _local(self, node: int, parents: list[int]) -> float:
        """Local log-score of ``node`` with ``parents`` (no prior)."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """Everything needed to rebuild this score."""

    def local_score(self, node: int, parents: list[int]) -> float:
        """Local log-score plus the modular log-prior."""
        if not 0 <= node < self.n_nodes or node in parents:
            raise InputError(f"bad local-score query: node {node}, parents {parents}")
        return self._local(node, sorted(parents)) - self.edge_penalty * len(parents)

    def local_scores(self, nodes: list[int], masks: list[int]) -> np.ndarray:
        """``local_score`` of many ``(node, parent bitmask)`` pairs at once (float64 array).

        Samplers meet thousands of new parent sets per batch; subclasses that can share work
        across them (BGe: one stacked determinant per parent count) override this.
        """
        out = [
            self.local_score(n, parents_of(m, self.n_nodes))
            for n, m in zip(nodes, masks, strict=True)
        ]
        return np.asarray(out, dtype=np.float64)

    def add_one_scores(self, node: int, parents: list[int]) -> tuple[float, np.ndarray]:
        """``local_score(node, parents)`` and, for every variable ``i``, the local score with
        ``i`` added to the parents (NaN where ``i`` is the node or already a parent).

        One call answers "what would each new parent of ``node`` be worth", which the DAG
        environment needs for every candidate edge into a node whose parents just changed.
        Subclasses override it when the ``d`` terms share work (BGe: one solve).
        """
        out = np.full(self.n_nodes, np.nan)
        for i in range(self.n_nodes):
            if i != node and i not in parents:
                out[i] = self.local_score(node, [*parents, i])
        return self.local_score(node, parents), out

    def score_graph(self, adjacency: Any) -> float:
        """Full recomputation of ``log p(D | G) + log p(G)`` (``adjacency[i, j]``: edge i -> j)."""
        adj = np.asarray(adjacency, dtype=bool)
        d = self.n_nodes
        if adj.shape != (d, d):
            raise InputError(f"adjacency must have shape ({d}, {d}), got {adj.shape}")
        return float(sum(self.local_score(j, list(np.flatnonzero(adj[:, j]))) for j in range(d)))


class BGeScore(DecomposableScore):
    """BGe score of continuous data (linear-Gaussian models, score-equivalent)."""

    def __init__(
        self,
        data: Any,
        alpha_mu: float = 1.0,
        alpha_w: float | None = None,
        edge_penalty: float = 0.0,
    ) -> None:
        arr = _as_table(data, "BGe")
        n, d = arr.shape
        super().__init__(n, d, edge_penalty)
        self.columns = column_names(data, d)
        alpha_w = float(d + 2) if alpha_w is None else float(alpha_w)
        if alpha_mu <= 0 or alpha_w <= d - 1:
            raise InputError(f"BGe needs alpha_mu > 0 and alpha_w > d - 1 = {d - 1}")
        self.data = arr
        self.alpha_mu, self.alpha_w = float(alpha_mu), alpha_w
        self.t = alpha_mu * (alpha_w - d - 1) / (alpha_mu + 1)
        if self.t <= 0:
            raise InputError(f"BGe needs alpha_w > d + 1 = {d + 1}, got {alpha_w}")
        mean = arr.mean(axis=0, keepdims=True)
        centred = arr - mean
        self.R = (
            self.t * np.eye(d)
            + centred.T @ centred
            + (n * alpha_mu / (n + alpha_mu)) * (mean.T @ mean)
        )
        k = np.arange(d)
        self._log_gamma = (
            0.5 * (math.log(alpha_mu) - math.log(n + alpha_mu))
            + gammaln(0.5 * (n + alpha_w - d + k + 1))
            - gammaln(0.5 * (alpha_w - d + k + 1))
            - 0.5 * n * math.log(math.pi)
            + 0.5 * (alpha_w - d + 2 * k + 1) * math.log(self.t)
        )

    def _local(self, node: int, parents: list[int]) -> float:
        n, d, k = self.n_samples, self.n_nodes, len(parents)
        if k == 0:
            term = -0.5 * (n + self.alpha_w - d + 1) * math.log(self.R[node, node])
        else:
            both = [node, *parents]
            _, logdet_p = np.linalg.slogdet(self.R[np.ix_(parents, parents)])
            _, logdet_all = np.linalg.slogdet(self.R[np.ix_(both, both)])
            a = n + self.alpha_w - d + k
            term = 0.5 * a * logdet_p - 0.5 * (a + 1) * logdet_all
        return float(self._log_gamma[k] + term)

    def local_scores(self, nodes: list[int], masks: list[int]) -> np.ndarray:
        """Batched BGe terms: pairs grouped by parent count, two stacked log-determinants each.

        NumPy's per-call overhead (~20 us) dwarfs a 3 x 3 determinant, so stacking the
        sub-matrices of every pair with ``k`` parents makes a batch of misses cost about as
        much as a handful of single calls.
        """
        d, n = self.n_nodes, len(nodes)
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        node_arr = np.asarray(nodes, dtype=np.int64)
        bits = (np.asarray(masks, dtype=np.int64)[:, None] >> np.arange(d)) & 1
        if (bits[np.arange(n), node_arr] == 1).any():
            raise InputError("bad local-score query: a node cannot be its own parent")
        counts = bits.sum(1)
        for k in np.unique(counts).tolist():
            rows = np.flatnonzero(counts == k)
            a = self.n_samples + self.alpha_w - d + k
            if k == 0:
                term = -0.5 * (a + 1) * np.log(self.R[node_arr[rows], node_arr[rows]])
            else:
                parents = np.nonzero(bits[rows])[1].reshape(len(rows), k)  # sorted per row
                both = np.concatenate([node_arr[rows, None], parents], axis=1)
                sub_p = self.R[parents[:, :, None], parents[:, None, :]]
                sub_j = self.R[both[:, :, None], both[:, None, :]]
                logdet_p = np.linalg.slogdet(sub_p)[1]
                logdet_j = np.linalg.slogdet(sub_j)[1]
                term = 0.5 * a * logdet_p - 0.5 * (a + 1) * logdet_j
            out[rows] = self._log_gamma[k] + term - self.edge_penalty * k
        return out

    def add_one_scores(self, node: int, parents: list[int]) -> tuple[float, np.ndarray]:
        """All ``d`` one-parent-more BGe terms from two Schur complements.

        With ``P`` the parents and ``J = {node} + P``, adding ``i`` multiplies ``det R[P, P]`` by
        ``R_ii - R_iP R_PP^-1 R_Pi`` and ``det R[J, J]`` likewise, so one solve per set gives
        every candidate's log-determinants: O(k^2 d) instead of d determinants of size k + 2.
        """
        d, k = self.n_nodes, len(parents)
        parents = sorted(parents)
        both = [node, *parents]
        logdet_p, schur_p = self._schur(parents)
        logdet_j, schur_j = self._schur(both)
        a = self.n_samples + self.alpha_w - d + k + 1  # the exponent with k + 1 parents
        with np.errstate(divide="ignore", invalid="ignore"):
            adds = (
                self._log_gamma[min(k + 1, d - 1)]
                + 0.5 * a * (logdet_p + np.log(schur_p))
                - 0.5 * (a + 1) * (logdet_j + np.log(schur_j))
                - self.edge_penalty * (k + 1)
            )
        adds[both] = np.nan
        return self.local_score(node, parents), adds

    def _schur(self, subset: list[int]) -> tuple[float, np.ndarray]:
        """``log det R[S, S]`` and every variable's Schur complement against ``S``."""
        diag = np.diagonal(self.R).copy()
        if not subset:
            return 0.0, diag
        block = self.R[np.ix_(subset, subset)]
        chol = np.linalg.cholesky(block)
        half = np.linalg.solve(chol, self.R[subset, :])  # L^-1 R[S, :]
        return float(2.0 * np.log(np.diagonal(chol)).sum()), diag - (half * half).sum(axis=0)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "bge",
            "data": torch.from_numpy(self.data.copy()),
            "columns": self.columns,
            "alpha_mu": self.alpha_mu,
            "alpha_w": self.alpha_w,
            "edge_penalty": self.edge_penalty,
        }


class BDeuScore(DecomposableScore):
    """BDeu score of discrete data (integer codes ``0 .. r_j - 1`` per column)."""

    def __init__(
        self, data: Any, equivalent_sample_size: float = 1.0, edge_penalty: float = 0.0
    ) -> None:
        arr = _as_table(data, "BDeu")
        if (arr < 0).any() or (arr != np.round(arr)).any():
            raise InputError("BDeu data must hold non-negative integer category codes")
        if equivalent_sample_size <= 0 or not math.isfinite(equivalent_sample_size):
            raise InputError(
                f"BDeu equivalent_sample_size must be > 0, got {equivalent_sample_size!r}"
            )
        n, d = arr.shape
        super().__init__(n, d, edge_penalty)
        self.columns = column_names(data, d)
        self.data = arr.astype(np.int64)
        self.arity = self.data.max(axis=0) + 1
        self.ess = float(equivalent_sample_size)

    def _local(self, node: int, parents: list[int]) -> float:
        r = int(self.arity[node])
        config = np.zeros(self.n_samples, dtype=np.int64)
        q = 1
        for p in parents:
            config = config * int(self.arity[p]) + self.data[:, p]
            q *= int(self.arity[p])
        keys, counts = np.unique(config * r + self.data[:, node], return_counts=True)
        _, parent_of_key = np.unique(keys // r, return_inverse=True)
        n_q = np.bincount(parent_of_key, weights=counts)
        a_q, a_qk = self.ess / q, self.ess / (q * r)
        score = np.sum(gammaln(a_q) - gammaln(a_q + n_q))
        score += np.sum(gammaln(a_qk + counts) - gammaln(a_qk))
        return float(score)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "bdeu",
            "data": torch.from_numpy(self.data.astype(np.float64)),
            "columns": self.columns,
            "equivalent_sample_size": self.ess,
            "edge_penalty": self.edge_penalty,
        }


def score_from_spec(spec: dict[str, Any]) -> DecomposableScore:
    """Rebuild a score from :meth:`DecomposableScore.spec`."""
    import pandas as pd

    if spec.get("kind") not in {"bge", "bdeu"}:
        raise InputError(f"unknown score kind {spec.get('kind')!r}; expected 'bge' or 'bdeu'")
    frame = pd.DataFrame(np.asarray(spec["data"]), columns=list(spec["columns"]))
    if spec["kind"] == "bge":
        return BGeScore(frame, spec["alpha_mu"], spec["alpha_w"], spec["edge_penalty"])
    if spec["kind"] == "bdeu":
        return BDeuScore(frame, spec["equivalent_sample_size"], spec["edge_penalty"])
    raise InputError(f"unknown score kind {spec['kind']!r}; expected 'bge' or 'bdeu'")


SCORE_CACHE_LIMIT = 2_000_000
"""Memoised local scores a :class:`ScoreCache` keeps before it starts over (speed only)."""

_CACHE_DENSE_MAX_NODES = 16
"""Up to this ``d`` a :class:`ScoreCache` is a dense ``d * 2^d`` table (8 MiB at 16)."""

_CACHE_PACKED_KEY_MAX_NODES = 57
"""Up to this ``d``, ``node << d | mask`` fits an int64, so the cache is one sorted array."""


class ScoreCache:
    """Memoised local scores (score plus modular prior), looked up for whole arrays at once.

    Why: samplers ask for one or two scores per chain or trajectory at every step, tens of
    thousands a step, and most repeat; a Python dict look-up per pair cost more than the rest
    of a DAG environment's step. The key ``node << d | mask`` indexes a dense NaN-filled table
    up to ``_CACHE_DENSE_MAX_NODES`` (one gather a look-up), else a sorted key array (one
    ``searchsorted``); only the missing unique pairs go to
    :meth:`DecomposableScore.local_scores` (batched for BGe). Above
    ``_CACHE_PACKED_KEY_MAX_NODES`` the key would overflow an int64, so a dict keyed by
    ``(node, mask)`` takes over (slower, exact all the same). The sorted and dict layouts start
    over when ``limit`` entries would be exceeded, so memory stays bounded.
    """

    def __init__(self, score: DecomposableScore, limit: int = SCORE_CACHE_LIMIT) -> None:
        d = score.n_nodes
        self.score, self.d, self.limit = score, d, limit
        self._table = np.full(d << d, np.nan) if d <= _CACHE_DENSE_MAX_NODES else None
        self._keys = np.empty(0, dtype=np.int64)  # sorted node << d | mask
        self._values = np.empty(0, dtype=np.float64)
        self._dict: dict[tuple[int, int], float] = {}

    def __len__(self) -> int:
        """Entries held (the dense table's computed ones included)."""
        if self._table is not None:
            return int(np.count_nonzero(~np.isnan(self._table)))
        return len(self._dict) if self.d > _CACHE_PACKED_KEY_MAX_NODES else len(self._keys)

    def __call__(self, nodes: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Local scores of ``(nodes[q], masks[q])`` (int64 arrays of one shape), float64."""
        if self.d > _CACHE_PACKED_KEY_MAX_NODES:
            return self._from_dict(nodes, masks)
        query = nodes.astype(np.int64) << self.d | masks
        if self._table is not None:
            out: np.ndarray = self._table[query]
            miss = np.isnan(out)
            if miss.any():
                new = np.unique(query[miss])
                self._table[new] = self._compute(new)
                out[miss] = self._table[query[miss]]
            return out
        pos = np.searchsorted(self._keys, query)
        hit = pos < len(self._keys)
        hit[hit] = self._keys[pos[hit]] == query[hit]
        if not hit.all():
            new = np.unique(query[~hit])
            if len(self._keys) + len(new) > self.limit:
                self._keys = np.empty(0, dtype=np.int64)  # then every key of this call is new
                self._values = np.empty(0, dtype=np.float64)
                new = np.unique(query)
                hit[:] = False
            computed = self._compute(new)
            out = np.empty(query.shape, dtype=np.float64)
            out[hit] = self._values[pos[hit]]
            out[~hit] = computed[np.searchsorted(new, query[~hit])]
            if len(self._keys) + len(new) <= self.limit:
                at = np.searchsorted(self._keys, new)
                self._keys = np.insert(self._keys, at, new)
                self._values = np.insert(self._values, at, computed)
            return out
        values: np.ndarray = self._values[pos]
        return values

    def _compute(self, keys: np.ndarray) -> np.ndarray:
        nodes, masks = keys >> self.d, keys & (1 << self.d) - 1
        return np.asarray(self.score.local_scores(nodes.tolist(), masks.tolist()), np.float64)

    def _from_dict(self, nodes: np.ndarray, masks: np.ndarray) -> np.ndarray:
        cache = self._dict
        pairs = list(zip(nodes.ravel().tolist(), masks.ravel().tolist(), strict=True))
        missing = list({p for p in pairs if p not in cache})
        new: dict[tuple[int, int], float] = {}
        if missing:
            if len(cache) + len(missing) > self.limit:
                cache.clear()
                missing = list(set(pairs))
            values = self.score.local_scores([n for n, _ in missing], [m for _, m in missing])
            new = dict(zip(missing, np.asarray(values, dtype=np.float64).tolist(), strict=True))
            if len(cache) + len(new) <= self.limit:
                cache.update(new)
        got = (new[p] if p in new else cache[p] for p in pairs)
        return np.fromiter(got, dtype=np.float64, count=len(pairs)).reshape(nodes.shape)


class LocalScores:
    """Memoised local scores, looked up for whole batches.

    For ``d <= 12`` every term is computed once up front into a dense ``[d, 2^d]`` float64 table
    (entries whose mask contains the node itself are unused). Above that, a node's terms are
    computed on first use per ``(node, parent bitmask)`` *with all its one-parent-more
    neighbours* (:meth:`DecomposableScore.add_one_scores`) for :meth:`gains`, and :meth:`lookup`
    answers from a :class:`ScoreCache` (vectorised: the environment asks for two scores per
    trajectory at every step). Both caches are bounded (cleared when full), so memory stays
    flat however long training runs.
    """

    def __init__(
        self,
        score: DecomposableScore,
        device: torch.device,
        max_parents: int | None = None,
        cache_entries: int = 200_000,
    ) -> None:
        self.score, self.d, self.device = score, score.n_nodes, device
        self.max_parents = max_parents
        self.cache_entries = cache_entries
        self._cache: dict[tuple[int, int], tuple[float, np.ndarray]] = {}
        self.scores = ScoreCache(score, cache_entries)  # lookup's memo above the table
        self.table: torch.Tensor | None = None
        self._bits = 1 << torch.arange(self.d, device=device)
        if self.d <= DENSE_TABLE_MAX_NODES:
            table = np.zeros((self.d, 1 << self.d))
            for node in range(self.d):
                for mask in range(1 << self.d):
                    pa = parents_of(mask, self.d)
                    if mask >> node & 1 or (max_parents is not None and len(pa) > max_parents):
                        continue
                    table[node, mask] = score.local_score(node, pa)
            self.table = torch.from_numpy(table).to(device)

    def _entry(self, node: int, mask: int) -> tuple[float, np.ndarray]:
        entry = self._cache.get((node, mask))
        if entry is None:
            if len(self._cache) >= self.cache_entries:
                self._cache.clear()
            entry = self.score.add_one_scores(node, parents_of(mask, self.d))
            self._cache[(node, mask)] = entry
        return entry

    def lookup(self, nodes: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Local scores (float64) for each ``(node, mask)`` pair (any matching shapes)."""
        if self.table is not None:
            return self.table[nodes, masks]
        values = self.scores(nodes.detach().cpu().numpy(), masks.detach().cpu().numpy())
        return torch.from_numpy(values).to(self.device).reshape(nodes.shape)

    def gains(self, nodes: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """``[B, d]``: score change of adding each variable as a parent of ``nodes[b]``, whose
        parent mask is ``masks[b]`` (entries for the node itself and existing parents are
        meaningless; callers mask them)."""
        if self.table is not None:
            new = masks.unsqueeze(1) | self._bits.unsqueeze(0)
            return self.table[nodes.unsqueeze(1), new] - self.table[nodes, masks].unsqueeze(1)
        rows = []
        for n, m in zip(nodes.tolist(), masks.tolist(), strict=True):
            base, adds = self._entry(n, m)
            rows.append(adds - base)
        if not rows:
            return torch.zeros(0, self.d, dtype=torch.float64, device=self.device)
        out = torch.from_numpy(np.nan_to_num(np.stack(rows), nan=0.0))
        return out.to(self.device)

    def delta(self, src: torch.Tensor, dst: torch.Tensor, dst_masks: torch.Tensor) -> torch.Tensor:
        """Score change of adding edges ``src -> dst`` to nodes whose parent masks are given."""
        new = dst_masks | (1 << src)
        both = self.lookup(torch.cat([dst, dst]), torch.cat([new, dst_masks]))  # one call
        return both[: dst.shape[0]] - both[dst.shape[0] :]
