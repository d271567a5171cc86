"""Hypothesis spaces behind one small interface (:class:`Environment`)."""

from __future__ import annotations

from typing import Any

import torch

from emily.cognition.envs.base import Environment, State
from emily.cognition.envs.dag import DAGHypotheses, structural_hamming_distance
from emily.cognition.envs.hypergrid import HyperGrid
from emily.core.errors import InputError

__all__ = [
    "DAGHypotheses",
    "Environment",
    "HyperGrid",
    "State",
    "make_env",
    "structural_hamming_distance",
]


def make_env(spec: dict[str, Any], device: str | torch.device = "cpu") -> Environment:
    """Rebuild an environment from its :meth:`Environment.spec`."""
    from emily.cognition.scores import score_from_spec

    kind = spec.get("kind")
    if kind == "hypergrid":
        return HyperGrid(
            spec["ndim"], spec["height"], spec["R0"], spec["R1"], spec["R2"], device=device
        )
    if kind == "dag":
        return DAGHypotheses(score_from_spec(spec["score"]), spec["max_parents"], device=device)
    raise InputError(f"unknown environment kind {kind!r}; expected 'hypergrid' or 'dag'")
