"""How good and how diverse a set of sampled hypotheses is.

* :func:`diversity`: mean pairwise distance of a sample set, where the distance of two
  hypotheses is the mean absolute difference of their ``[0, 1]`` embeddings (HyperGrid:
  coordinates / (height - 1); DAGs: adjacency bits, i.e. normalised Hamming distance). In [0, 1].
  Descriptive only: a correct sampler of a sharp posterior has low diversity.
* :func:`detect_mode_collapse`: diversity below a threshold (default 0.3, as in the seed). For
  the HyperGrid, whose modes are known; **not** for DAGs (see :func:`dag_collapse`).
* :func:`dag_collapse`: whether DAG samples sit on a few members of a Markov equivalence class
  instead of spreading evenly over it, as a correct posterior sampler must.
* :func:`distinct_modes`: how many distinct mode states a sample set contains.
* :func:`l1_distance`, :func:`jensen_shannon`, :func:`kl_divergence` (and ``*_log`` variants
  taking log-probabilities): distances between distributions (natural log; JSD is in
  [0, ln 2]), computed in log space so that tiny or subnormal masses never give inf or NaN.
* :func:`edge_marginals`, :func:`edge_marginal_error`: posterior edge probabilities of DAGs.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from emily.cognition.equivalence import DEFAULT_MEMBER_LIMIT, mec_keys, mec_members
from emily.core.errors import InputError

DEFAULT_COLLAPSE_THRESHOLD = 0.3


def _check_embeddings(x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 2:
        raise InputError(f"embeddings must be [n_samples, n_features], got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise InputError("embeddings contain NaN or infinite values")
    return x.float()


def diversity(embeddings: torch.Tensor, max_samples: int = 2048, seed: int = 0) -> float:
    """Mean pairwise distance over distinct pairs (a seeded subset above ``max_samples``)."""
    x = _check_embeddings(embeddings)
    n = x.shape[0]
    if n < 2:
        return 0.0
    if n > max_samples:
        gen = torch.Generator().manual_seed(seed)
        x = x[torch.randperm(n, generator=gen)[:max_samples].to(x.device)]
        n = max_samples
    dist = torch.cdist(x, x, p=1) / x.shape[1]
    return float(dist.sum() / (n * (n - 1)))


@dataclass(frozen=True)
class ModeCollapse:
    """Result of :func:`detect_mode_collapse`."""

    diversity: float
    threshold: float
    collapsed: bool


def detect_mode_collapse(
    embeddings: torch.Tensor, threshold: float = DEFAULT_COLLAPSE_THRESHOLD
) -> ModeCollapse:
    """Flag a sample set whose diversity is below ``threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"mode-collapse threshold must be in [0, 1], got {threshold!r}")
    div = diversity(embeddings)
    return ModeCollapse(diversity=div, threshold=threshold, collapsed=div < threshold)


DAG_COLLAPSE_THRESHOLD = 0.5
"""Default :func:`dag_collapse` threshold: half-way from an even spread to one member a class."""
DAG_COLLAPSE_ALPHA = 1e-3
"""Default significance level of :func:`dag_collapse` (false alarms of a correct sampler)."""
DAG_MIN_CLASS_SAMPLES = 20
_MIN_HEADROOM = 0.05  # classes whose all-on-one TV barely exceeds the expected TV say nothing


@dataclass(frozen=True)
class ClassSpread:
    """How one tested Markov equivalence class's samples fall on its members."""

    samples: int
    members: int
    """Admissible members (all DAGs of the class within ``max_parents``)."""
    visited: int
    """Members sampled at least once."""
    total_variation: float
    """TV distance of the member frequencies from uniform: ``1 - k/members`` on ``k`` members."""
    expected: float
    """Mean of ``total_variation`` for a correct sampler with the same ``samples``."""

    @property
    def excess(self) -> float:
        """``(TV - expected) / (1 - 1/members - expected)``: 0 spread evenly, 1 on one member."""
        return (self.total_variation - self.expected) / _headroom(self.samples, self.members)


@dataclass(frozen=True)
class DagCollapse:
    """Result of :func:`dag_collapse`.

    ``statistic`` is the sample-weighted mean of :attr:`ClassSpread.excess` over the tested
    classes (``None`` when no class could be tested: then ``collapsed`` is False and ``reason``
    starts with ``undetermined``); ``p_value`` is its tail probability under a correct sampler.
    """

    statistic: float | None
    threshold: float
    collapsed: bool
    classes_tested: int
    distinct_classes: int
    reason: str
    p_value: float | None = None
    alpha: float = DAG_COLLAPSE_ALPHA
    tested_share: float = 0.0
    """Share of the samples that fell in tested classes."""
    classes: tuple[ClassSpread, ...] = ()

    @property
    def determined(self) -> bool:
        """Whether any class could be tested (else the samples cannot show a collapse)."""
        return self.statistic is not None

    def as_dict(self) -> dict[str, Any]:
        """The scalar fields, for JSON and metric logs."""
        return {
            "statistic": self.statistic,
            "threshold": self.threshold,
            "collapsed": self.collapsed,
            "determined": self.determined,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "classes_tested": self.classes_tested,
            "distinct_classes": self.distinct_classes,
            "tested_share": self.tested_share,
            "reason": self.reason,
        }


@lru_cache(maxsize=4096)
def _expected_tv(n: int, m: int) -> float:
    """Exact mean TV distance from uniform of ``Multinomial(n, 1/m)`` frequencies.

    Each count is ``Binomial(n, 1/m)``, so ``E[TV] = m/2 * E|X/n - 1/m|``. SciPy's
    ``stats`` is imported here: at module level it cost the runtime's cognition process ~0.8 s of
    start-up before its first hypothesis, for a check that runs after the first batch.
    """
    from scipy.stats import binom

    x = np.arange(n + 1)
    return float(0.5 * m * np.sum(binom.pmf(x, n, 1.0 / m) * np.abs(x / n - 1.0 / m)))


def _headroom(n: int, m: int) -> float:
    """How far the all-on-one TV (``1 - 1/m``) lies above the expected TV of ``n`` draws."""
    return 1.0 - 1.0 / m - _expected_tv(n, m)


_MEMBER_CACHE: OrderedDict[tuple[bytes, int], list[np.ndarray] | None] = OrderedDict()
_MEMBER_CACHE_SIZE = 4096


def _class_members(key: bytes, graph: np.ndarray, limit: int) -> list[np.ndarray] | None:
    """:func:`mec_members` of the class ``key`` (``graph`` is one member), remembered: the
    runtime meets the same few classes batch after batch."""
    slot = (key, limit)
    if slot in _MEMBER_CACHE:
        _MEMBER_CACHE.move_to_end(slot)
        return _MEMBER_CACHE[slot]
    members = mec_members(graph, limit)
    _MEMBER_CACHE[slot] = members
    if len(_MEMBER_CACHE) > _MEMBER_CACHE_SIZE:
        _MEMBER_CACHE.popitem(last=False)
    return members


def _as_adjacency(samples: Any) -> np.ndarray:
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    a = np.asarray(samples)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise InputError(f"DAG samples must be [n_samples, d, d], got shape {a.shape}")
    return a


def dag_collapse(
    adjacency_samples: Any,
    *,
    max_parents: int | None = None,
    min_class_samples: int = DAG_MIN_CLASS_SAMPLES,
    threshold: float = DAG_COLLAPSE_THRESHOLD,
    alpha: float = DAG_COLLAPSE_ALPHA,
    member_limit: int = DEFAULT_MEMBER_LIMIT,
    null_draws: int = 4000,
    seed: int = 0,
) -> DagCollapse:
    """Whether DAG samples collapse onto a few members of their Markov equivalence classes.

    Why this test and not diversity: BGe and BDeu are score-equivalent and the structure
    priors depend only on edge counts, so every DAG of a Markov equivalence class has the same
    posterior mass (all members within ``max_parents``, the sampler's own limit, which must be
    given when it was used). A correct sampler therefore spreads each class's samples evenly
    over its members, however sharp the posterior is; low Hamming diversity, by contrast, is
    what a correct sampler of a sharp posterior shows. The test needs nothing but the samples.

    How: samples are grouped by class (CPDAG); each class with at least ``min_class_samples``
    samples and at least two admissible members is tested. Its member frequencies are compared
    with uniform by total variation, rescaled to an excess in which 0 is what a correct sampler
    shows on average for that many samples and 1 is every sample on one member
    (:class:`ClassSpread`). ``statistic`` is the sample-weighted mean excess over the tested
    classes; ``p_value`` its Monte Carlo tail probability (``null_draws`` seeded multinomial
    draws of the same class sizes) under a correct sampler. ``collapsed`` needs both
    ``statistic >= threshold`` (an effect large enough to be a collapse, not the mild
    unevenness of an imperfect but useful sampler) and ``p_value <= alpha`` (not sampling
    noise). With no testable class (every sampled class a singleton or rarely sampled, e.g. all
    samples distinct) the answer is ``undetermined`` and never flags: such samples cannot tell
    a collapse from a sharp posterior.
    """
    if not 0.0 < threshold <= 1.0:
        raise InputError(f"collapse threshold must be in (0, 1], got {threshold!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")
    if min_class_samples < 2:
        raise InputError(f"min_class_samples must be at least 2, got {min_class_samples!r}")
    a = _as_adjacency(adjacency_samples)
    if a.shape[0] == 0:
        return DagCollapse(None, threshold, False, 0, 0, "undetermined: no samples", alpha=alpha)
    d = a.shape[1]
    uniq, counts = np.unique(a.reshape(a.shape[0], -1).astype(bool), axis=0, return_counts=True)
    graphs = uniq.reshape(-1, d, d)
    if max_parents is not None:
        over = graphs.sum(axis=1).max(axis=1) > max_parents
        if over.any():
            raise InputError(f"{int(counts[over].sum())} samples exceed max_parents={max_parents}")
    by_class: dict[bytes, list[int]] = {}
    for i, key in enumerate(mec_keys(graphs)):
        by_class.setdefault(key, []).append(i)
    spreads: list[ClassSpread] = []
    small = singleton = too_many = 0
    for key, rows in by_class.items():
        n = int(counts[rows].sum())
        if n < min_class_samples:
            small += 1
            continue
        members = _class_members(key, graphs[rows[0]], member_limit)
        if members is None:
            too_many += 1
            continue
        if max_parents is not None:
            members = [g for g in members if g.sum(axis=0).max(initial=0) <= max_parents]
        m = len(members)
        if m < 2:
            singleton += 1
            continue
        if _headroom(n, m) < _MIN_HEADROOM:
            small += 1
            continue
        freq = {graphs[r].tobytes(): int(counts[r]) for r in rows}
        observed = np.array([freq.get(g.tobytes(), 0) for g in members]) / n
        tv = 0.5 * float(np.abs(observed - 1.0 / m).sum())
        spreads.append(ClassSpread(n, m, len(rows), tv, _expected_tv(n, m)))
    distinct = len(by_class)
    if not spreads:
        why = (
            f"undetermined: none of the {distinct} sampled equivalence classes has "
            f">= {min_class_samples} samples and >= 2 admissible members "
            f"({singleton} with one member, {small} with too few samples, "
            f"{too_many} with over {member_limit} members)"
        )
        return DagCollapse(None, threshold, False, 0, distinct, why, alpha=alpha)
    sizes = np.array([c.samples for c in spreads], dtype=float)
    weights = sizes / sizes.sum()
    statistic = float(sum(w * c.excess for w, c in zip(weights, spreads, strict=True)))
    rng = np.random.default_rng(seed)
    null = np.zeros(null_draws)
    for w, c in zip(weights, spreads, strict=True):
        draws = rng.multinomial(c.samples, np.full(c.members, 1.0 / c.members), size=null_draws)
        tv_null = 0.5 * np.abs(draws / c.samples - 1.0 / c.members).sum(axis=1)
        null += w * (tv_null - c.expected) / _headroom(c.samples, c.members)
    p_value = float((1 + np.count_nonzero(null >= statistic - 1e-12)) / (null_draws + 1))
    collapsed = statistic >= threshold and p_value <= alpha
    share = float(sizes.sum() / a.shape[0])
    where = (
        f"{len(spreads)} of {distinct} classes ({share:.0%} of samples) sit {statistic:.2f} of "
        f"the way from an even spread over their members to one member each"
    )
    if collapsed:
        why = f"collapsed: {where} (threshold {threshold:g}, p = {p_value:.2g})"
    elif statistic >= threshold:
        why = f"not shown: {where}, but p = {p_value:.2g} > {alpha:g} (too few samples)"
    else:
        why = f"spread: {where} (threshold {threshold:g})"
    return DagCollapse(
        statistic,
        threshold,
        collapsed,
        len(spreads),
        distinct,
        why,
        p_value=p_value,
        alpha=alpha,
        tested_share=share,
        classes=tuple(spreads),
    )


def distinct_modes(keys: torch.Tensor, is_mode: torch.Tensor) -> int:
    """Number of distinct keys among the samples flagged as modes."""
    if keys.shape != is_mode.shape:
        raise InputError(f"keys {tuple(keys.shape)} and is_mode {tuple(is_mode.shape)} differ")
    return int(torch.unique(keys[is_mode]).numel())


def _check_pair(p: Any, q: Any) -> tuple[torch.Tensor, torch.Tensor]:
    p, q = torch.as_tensor(p), torch.as_tensor(q)
    if p.shape != q.shape or p.ndim != 1:
        raise InputError(f"distributions must be 1-D of one shape, got {p.shape} and {q.shape}")
    p, q = p.double(), q.double()
    for name, v in (("p", p), ("q", q)):
        if not torch.isfinite(v).all() or (v < 0).any():
            raise InputError(f"distribution {name} has negative, NaN or infinite entries")
        if abs(float(v.sum()) - 1.0) > 1e-6:
            raise InputError(f"distribution {name} sums to {float(v.sum())}, not 1")
    return p, q


def _check_log_pair(log_p: Any, log_q: Any) -> tuple[torch.Tensor, torch.Tensor]:
    log_p, log_q = torch.as_tensor(log_p), torch.as_tensor(log_q)
    if log_p.shape != log_q.shape or log_p.ndim != 1:
        raise InputError(
            f"log-distributions must be 1-D of one shape, got {log_p.shape} and {log_q.shape}"
        )
    log_p, log_q = log_p.double(), log_q.double()
    for name, v in (("log_p", log_p), ("log_q", log_q)):
        if torch.isnan(v).any() or (v == math.inf).any():
            raise InputError(f"{name} has NaN or +inf entries (log 0 = -inf is fine)")
        total = float(torch.logsumexp(v, 0))
        if not abs(total) <= 1e-6:
            raise InputError(f"{name} has log-sum-exp {total}, not 0 (it is not normalised)")
    return log_p, log_q


def _log(p: torch.Tensor) -> torch.Tensor:
    """Natural log of probabilities; exact for subnormal entries, ``-inf`` for zeros."""
    return torch.where(p > 0, p, torch.ones_like(p)).log().masked_fill(p == 0, -math.inf)


def _kl_log(log_a: torch.Tensor, log_b: torch.Tensor) -> float:
    """``KL(a || b)`` from log-probabilities; ``inf`` iff ``a`` has mass where ``b`` has none."""
    keep = log_a > -math.inf  # terms with a = 0 contribute 0 (0 log 0 = 0)
    la, lb = log_a[keep], log_b[keep]
    if (lb == -math.inf).any():
        return math.inf
    return max(0.0, float((la.exp() * (la - lb)).sum()))


def kl_divergence(p: Any, q: Any) -> float:
    """Kullback-Leibler divergence ``KL(p || q)`` in nats, computed from logs.

    Finite whenever ``q > 0`` wherever ``p > 0``, subnormal masses included; ``inf`` (the true
    value, never NaN) where ``p`` has mass that ``q`` lacks.
    """
    p, q = _check_pair(p, q)
    return _kl_log(_log(p), _log(q))


def kl_divergence_log(log_p: Any, log_q: Any) -> float:
    """:func:`kl_divergence` of two distributions given as natural-log probabilities.

    For masses too small for float64 (``exp(-800)``): they stay exact in log space.
    """
    return _kl_log(*_check_log_pair(log_p, log_q))


def _jsd_log(log_p: torch.Tensor, log_q: torch.Tensor) -> float:
    # log m = log((p + q) / 2) by log-sum-exp: no underflow of p + q, and m >= p / 2, so each
    # log-ratio is at most ln 2 and both KL terms are finite.
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    value = 0.5 * _kl_log(log_p, log_m) + 0.5 * _kl_log(log_q, log_m)
    return min(max(value, 0.0), math.log(2.0))


def jensen_shannon(p: Any, q: Any) -> float:
    """Jensen-Shannon divergence in nats (in ``[0, ln 2]``), finite for every valid input.

    Computed in log space: the mixture ``(p + q) / 2`` is formed with log-sum-exp, so entries
    whose sum underflows (e.g. ``5e-324 / 2``) no longer give ``inf``.
    """
    p, q = _check_pair(p, q)
    return _jsd_log(_log(p), _log(q))


def jensen_shannon_log(log_p: Any, log_q: Any) -> float:
    """:func:`jensen_shannon` of two distributions given as natural-log probabilities."""
    return _jsd_log(*_check_log_pair(log_p, log_q))


def l1_distance(p: Any, q: Any) -> float:
    """``sum |p - q|`` (in [0, 2])."""
    p, q = _check_pair(p, q)
    return float((p - q).abs().sum())


def empirical_distribution(sample_keys: torch.Tensor, support_keys: torch.Tensor) -> torch.Tensor:
    """Frequencies of ``sample_keys`` over sorted ``support_keys`` (every sample must be in it)."""
    idx = torch.searchsorted(support_keys, sample_keys)
    idx = idx.clamp(max=support_keys.numel() - 1)
    if not torch.equal(support_keys[idx], sample_keys):
        raise InputError("some samples are not in the support")
    counts = torch.bincount(idx, minlength=support_keys.numel()).double()
    return counts / counts.sum()


def edge_marginals(adjacency: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """``P(i -> j)`` under ``probs`` over graphs ``adjacency [N, d, d]``."""
    if adjacency.ndim != 3 or adjacency.shape[0] != probs.shape[0]:
        raise InputError("adjacency must be [N, d, d] with one probability per graph")
    return torch.einsum("n,nij->ij", probs.double(), adjacency.double())


def edge_marginal_error(
    adjacency: torch.Tensor, p: torch.Tensor, q: torch.Tensor
) -> tuple[float, float]:
    """Mean and max absolute error of the off-diagonal edge marginals of ``p`` against ``q``."""
    err = (edge_marginals(adjacency, p) - edge_marginals(adjacency, q)).abs()
    d = err.shape[0]
    off = ~torch.eye(d, dtype=torch.bool, device=err.device)
    return float(err[off].mean()), float(err[off].max())
