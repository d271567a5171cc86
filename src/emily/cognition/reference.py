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
is coverage, and, where ``reference_likelihood`` is set (the ``dag`` variant sets it), a pull
towards the chains' visit counts as well: the reference paths' likelihood is raised beside the
balance residual (ADR 0015). Either way the policy is only as close to the posterior as the
chains are mixed, which is why they walk several rounds per training step.
Any object with ``draw() -> (adjacency [m, d, d] bool, log_score [m])`` can serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from emily.cognition.mcmc import BURN_IN_SWEEPS, StructureMCMC
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
        betas: Sequence[float] = (1.0,),
        burn_in_sweeps: int = BURN_IN_SWEEPS,
        seed: int = 0,
    ) -> None:
        if burn_in_sweeps < 0:
            raise InputError(f"burn_in_sweeps must be >= 0, got {burn_in_sweeps}")
        self.mcmc = StructureMCMC(score, max_parents, chains=chains, betas=betas, seed=seed)
        self.per_draw = chains * rounds
        self._burn_in = burn_in_sweeps * self.mcmc.d * (self.mcmc.d - 1)

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """The chains' next ``chains x rounds`` graphs (the first call burns in ``burn_in_sweeps``
        sweeps per chain: the first reference graphs are what the policy learns from first)."""
        burn_in, self._burn_in = self._burn_in, 0
        out = self.mcmc.sample(self.per_draw, burn_in=burn_in)
        return out.adjacency, out.log_score


class ReferenceBuffer:
    """The last ``capacity`` reference trajectories, repeats kept.

    Unlike the replay buffer (the best *distinct* hypotheses), repeats matter here: a graph the
    chains visit often is where the posterior's mass is, so drawing uniformly from recent visits
    spends the training where the sampler's errors cost the most.

    A ring: adding overwrites the oldest rows in place, so a step costs the rows it adds, not
    the buffer's size (a large capacity keeps the chains' long history at no cost per step).
    Rows are stored as int16 (a DAG's actions index at most ``d^2 + 1`` moves, 3,845 at d = 62).
    """

    def __init__(self, capacity: int, length: int, seed: int = 0) -> None:
        if capacity < 1:
            raise InputError(f"reference capacity must be >= 1, got {capacity}")
        self.capacity, self.length = capacity, length
        self._rows = torch.empty(capacity, length, dtype=torch.int16)
        self._size = 0
        self._next = 0  # the row the next trajectory is written to
        self._gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self._size

    @property
    def actions(self) -> torch.Tensor:
        """The stored trajectories ``[len, length]``, oldest first."""
        rows = self._rows[: self._size].long()
        return torch.roll(rows, -self._next, 0) if self._size == self.capacity else rows

    def add(self, actions: torch.Tensor) -> None:
        """Append trajectories ``[m, length]``, dropping the oldest beyond capacity."""
        new = actions.cpu()[-self.capacity :]
        m = int(new.shape[0])
        if m == 0:
            return
        if int(new.max()) > torch.iinfo(torch.int16).max:
            raise InputError(f"reference actions must be below 32768, got {int(new.max())}")
        self._rows[(self._next + torch.arange(m)) % self.capacity] = new.to(torch.int16)
        self._next = (self._next + m) % self.capacity
        self._size = min(self.capacity, self._size + m)

    def sample(self, n: int) -> torch.Tensor:
        """``n`` stored trajectories, each along a fresh random order of its moves."""
        if len(self) == 0:
            raise InputError("cannot sample from an empty reference buffer")
        idx = torch.randint(len(self), (n,), generator=self._gen)
        return shuffle_moves(self._rows[idx].long(), self._gen)
