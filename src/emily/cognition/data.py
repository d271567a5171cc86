"""Data for the DAG hypothesis space: seeded synthetic linear-Gaussian tables, and CSV loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emily.core.errors import InputError


def random_dag(d: int, n_edges: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly ordered random DAG with ``n_edges`` edges (Erdős–Rényi over a random order)."""
    max_edges = d * (d - 1) // 2
    if d < 2 or not 0 <= n_edges <= max_edges:
        raise InputError(f"need d >= 2 and 0 <= n_edges <= {max_edges}, got d={d}, {n_edges}")
    order = rng.permutation(d)
    pairs = [(order[i], order[j]) for i in range(d) for j in range(i + 1, d)]
    chosen = rng.choice(len(pairs), size=n_edges, replace=False)
    adj = np.zeros((d, d), dtype=bool)
    for k in chosen:
        adj[pairs[k]] = True
    return adj


def sample_linear_gaussian(
    adj: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.1, weight_scale: float = 1.0
) -> pd.DataFrame:
    """``n`` rows from ``x_j = sum_i w_ij x_i + eps_j`` with ``w ~ N(0, weight_scale)`` on edges."""
    d = adj.shape[0]
    weights = np.where(adj, rng.normal(0.0, weight_scale, size=(d, d)), 0.0)
    data = np.zeros((n, d))
    remaining = set(range(d))
    while remaining:  # topological order
        ready = [j for j in sorted(remaining) if not any(adj[i, j] for i in remaining)]
        if not ready:
            raise InputError("adjacency has a cycle")
        for j in ready:
            data[:, j] = data @ weights[:, j] + rng.normal(0.0, noise, size=n)
            remaining.remove(j)
    return pd.DataFrame(data, columns=[f"x{j}" for j in range(d)])


def synthetic_linear_gaussian(
    d: int = 5, n_edges: int | None = None, n: int = 100, seed: int = 0, noise: float = 0.1
) -> tuple[pd.DataFrame, np.ndarray]:
    """Seeded data table and its true DAG (``n_edges`` defaults to ``d``, capped at the maximum)."""
    rng = np.random.default_rng(seed)
    adj = random_dag(d, min(d, d * (d - 1) // 2) if n_edges is None else n_edges, rng)
    return sample_linear_gaussian(adj, n, rng, noise), adj


def load_table(path: str | Path) -> pd.DataFrame:
    """A CSV data table (header row of variable names)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no data file at {path}")
    try:
        frame = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path} is not a readable CSV table: {exc}") from exc
    if frame.empty:
        raise InputError(f"{path} has no rows")
    return frame
