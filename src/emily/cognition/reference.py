"""Reference hypotheses for off-policy training: where the posterior's mass is, found by MCMC.

A GFlowNet trained only on its own samples must discover the posterior's modes by itself; on
peaked posteriors (a thousand rows make score gaps of hundreds of nats) it locks onto the first
graphs it finds and the trajectory-balance residuals of everything else are never seen. The
objectives are valid off-policy, so the trainer may learn from any trajectories that cover the
support: structure MCMC (:class:`~emily.cognition.mcmc.StructureMCMC`) walks the same posterior
one edge at a time, and the graphs it visits, fed into the replay buffer and replayed along
random edge orders (draws of the uniform backward policy), show the GFlowNet the trajectories
it must balance. The sampler that results is still the GFlowNet's own policy, its proportions
set by the rewards through trajectory balance, not by MCMC visit counts; what MCMC contributes
is coverage (unless ``reference_likelihood`` is set, opt-in: then the reference paths' likelihood
is raised too, and the chains' visit counts shape the proportions as well; ADR 0015).
Any object with ``draw() -> (adjacency [m, d, d] bool, log_score [m])`` can serve.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from emily.cognition.mcmc import StructureMCMC
from emily.cognition.replay import shuffle_moves
from emily.cognition.scores import DecomposableScore
from emily.core.errors import InputError


class ReferenceSource(Protocol):
    """Anything that can hand the trainer a few more graphs from (near) the posterior."""

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """``(adjacency [m, d, d] bool, log_score [m] float64)`` of new reference graphs."""
        ...


class MCMCReference:
    """Structure-MCMC chains advanced a little at every training step."""

    def __init__(
        self,
        score: DecomposableScore,
        max_parents: int | None = None,
        *,
        chains: int = 4,
        rounds: int = 2,
        seed: int = 0,
    ) -> None:
        self.mcmc = StructureMCMC(score, max_parents, chains=chains, seed=seed)
        self.per_draw = chains * rounds

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """The chains' next ``chains x rounds`` graphs (the first call burns in)."""
        out = self.mcmc.sample(self.per_draw)
        return out.adjacency, out.log_score


class ReferenceBuffer:
    """The last ``capacity`` reference trajectories, repeats kept.

    Unlike the replay buffer (the best *distinct* hypotheses), repeats matter here: a graph the
    chains visit often is where the posterior's mass is, so drawing uniformly from recent visits
    spends the training where the sampler's errors cost the most.
    """

    def __init__(self, capacity: int, length: int, seed: int = 0) -> None:
        if capacity < 1:
            raise InputError(f"reference capacity must be >= 1, got {capacity}")
        self.capacity, self.length = capacity, length
        self.actions = torch.empty(0, length, dtype=torch.long)
        self._gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def add(self, actions: torch.Tensor) -> None:
        """Append trajectories ``[m, length]``, dropping the oldest beyond capacity."""
        self.actions = torch.cat([self.actions, actions.cpu()])[-self.capacity :]

    def sample(self, n: int) -> torch.Tensor:
        """``n`` stored trajectories, each along a fresh random order of its moves."""
        if len(self) == 0:
            raise InputError("cannot sample from an empty reference buffer")
        idx = torch.randint(len(self), (n,), generator=self._gen)
        return shuffle_moves(self.actions[idx], self._gen)
