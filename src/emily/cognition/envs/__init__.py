"""Hypothesis spaces behind one small interface (:class:`Environment`).

The spaces by name (``emily train --env``, checkpoints) are in :mod:`.registry`; a new space is
one :func:`~emily.cognition.envs.registry.register_space` there. The names below are imported on
first use, so reading the registry (``emily train --help``) loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.cognition.envs.registry import make_env
from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.cognition.envs.base import Environment, State
    from emily.cognition.envs.dag import DAGHypotheses, structural_hamming_distance
    from emily.cognition.envs.hypergrid import HyperGrid

_HOMES = {
    "emily.cognition.envs.base": ("Environment", "State"),
    "emily.cognition.envs.dag": ("DAGHypotheses", "structural_hamming_distance"),
    "emily.cognition.envs.hypergrid": ("HyperGrid",),
}

__all__ = [
    "DAGHypotheses",
    "Environment",
    "HyperGrid",
    "State",
    "make_env",
    "structural_hamming_distance",
]

# Public names are imported on first use (PEP 562), so a light module of this package (the
# hypothesis-space registry, read by `emily train --help`) loads no torch.
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)
