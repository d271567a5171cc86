"""How good and how diverse a set of sampled hypotheses is.

* :func:`diversity`: mean pairwise distance of a sample set, where the distance of two
  hypotheses is the mean absolute difference of their ``[0, 1]`` embeddings (HyperGrid:
  coordinates / (height - 1); DAGs: adjacency bits, i.e. normalised Hamming distance). In [0, 1].
* :func:`detect_mode_collapse`: diversity below a threshold (default 0.3, as in the seed).
* :func:`distinct_modes`: how many distinct mode states a sample set contains.
* :func:`l1_distance`, :func:`jensen_shannon`: distances between distributions (natural log;
  JSD is in [0, ln 2]).
* :func:`edge_marginals`, :func:`edge_marginal_error`: posterior edge probabilities of DAGs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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


def distinct_modes(keys: torch.Tensor, is_mode: torch.Tensor) -> int:
    """Number of distinct keys among the samples flagged as modes."""
    if keys.shape != is_mode.shape:
        raise InputError(f"keys {tuple(keys.shape)} and is_mode {tuple(is_mode.shape)} differ")
    return int(torch.unique(keys[is_mode]).numel())


def _check_pair(p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if p.shape != q.shape or p.ndim != 1:
        raise InputError(f"distributions must be 1-D of one shape, got {p.shape} and {q.shape}")
    p, q = p.double(), q.double()
    for name, v in (("p", p), ("q", q)):
        if not torch.isfinite(v).all() or (v < 0).any():
            raise InputError(f"distribution {name} has negative, NaN or infinite entries")
        if abs(float(v.sum()) - 1.0) > 1e-6:
            raise InputError(f"distribution {name} sums to {float(v.sum())}, not 1")
    return p, q


def l1_distance(p: torch.Tensor, q: torch.Tensor) -> float:
    """``sum |p - q|`` (in [0, 2])."""
    p, q = _check_pair(p, q)
    return float((p - q).abs().sum())


def jensen_shannon(p: torch.Tensor, q: torch.Tensor) -> float:
    """Jensen–Shannon divergence in nats."""
    p, q = _check_pair(p, q)
    m = 0.5 * (p + q)

    def kl(a: torch.Tensor) -> torch.Tensor:
        nz = a > 0
        return (a[nz] * (a[nz].log() - m[nz].log())).sum()

    return float(0.5 * kl(p) + 0.5 * kl(q))


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
