"""The one small interface every hypothesis space (environment) implements.

A state batch is a ``dict`` of tensors that share their first (batch) dimension, so an environment
can carry whatever it needs (HyperGrid: coordinates; DAGs: adjacency, transitive closure, parent
sets and the running score) and the sampler stays generic. Actions are integers
``0 .. n_actions - 1``; the last one, ``stop_action``, ends the trajectory and must always be
allowed. ``step`` treats the stop action as a no-op, which lets the sampler advance a whole batch
in lock step without branching on finished trajectories.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch

from emily.core.errors import InputError

State = dict[str, torch.Tensor]


def state_batch_size(state: Mapping[str, torch.Tensor]) -> int:
    """Batch size of a state batch (the first dimension every field shares)."""
    return int(next(iter(state.values())).shape[0])


def index_state(state: Mapping[str, torch.Tensor], idx: torch.Tensor | slice) -> State:
    """Rows ``idx`` of every field."""
    return {k: v[idx] for k, v in state.items()}


def cat_states(states: list[State]) -> State:
    """Concatenate state batches along the batch dimension."""
    if not states:
        raise InputError("cannot concatenate an empty list of state batches")
    return {k: torch.cat([s[k] for s in states]) for k in states[0]}


def repeat_state(state: Mapping[str, torch.Tensor], n: int) -> State:
    """A batch of ``n`` copies of a one-row state batch."""
    return {k: v[:1].expand(n, *v.shape[1:]).clone() for k, v in state.items()}


class Environment(ABC):
    """A discrete, acyclic hypothesis space: states, actions, masks and a log-reward.

    Subclasses set ``n_actions`` (stop included), ``obs_dim`` and ``max_steps`` (the most non-stop
    actions any trajectory can take) and implement the abstract methods. Spaces small enough to
    enumerate also implement :meth:`enumerate_states` and :meth:`level`, which unlock the exact
    metrics (L1, Jensen–Shannon) and the exact sampler distribution.
    """

    name: str = "environment"
    exact_keys: bool = True  # False when ``key`` is a hash that could (improbably) collide
    n_actions: int
    obs_dim: int
    max_steps: int

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)

    @property
    def stop_action(self) -> int:
        """Index of the action that ends a trajectory."""
        return self.n_actions - 1

    # --- required -----------------------------------------------------------------------------
    @abstractmethod
    def initial_state(self, n: int) -> State:
        """``n`` copies of the initial state s0."""

    @abstractmethod
    def obs(self, state: State) -> torch.Tensor:
        """Float features ``[B, obs_dim]`` the networks read."""

    @abstractmethod
    def forward_mask(self, state: State) -> torch.Tensor:
        """Bool ``[B, n_actions]``: which actions are allowed (stop always is)."""

    @abstractmethod
    def backward_mask(self, state: State) -> torch.Tensor:
        """Bool ``[B, n_actions - 1]``: which non-stop actions could have led to each state."""

    @abstractmethod
    def step(self, state: State, actions: torch.Tensor) -> State:
        """Apply ``actions`` (long ``[B]``); the stop action leaves a row unchanged."""

    @abstractmethod
    def log_reward(self, state: State) -> torch.Tensor:
        """Log-reward ``[B]`` (float64) of each state taken as a terminal hypothesis."""

    @abstractmethod
    def key(self, state: State) -> torch.Tensor:
        """A unique int64 per state (for counting, dedup and exact distributions)."""

    @abstractmethod
    def embed(self, state: State) -> torch.Tensor:
        """Features in ``[0, 1]``, ``[B, F]``: the mean absolute difference of two rows is the
        normalised distance used by the diversity metric."""

    def guide(self, state: State) -> torch.Tensor | None:
        """Known parts of the optimal forward logits ``[B, n_actions]`` (or None: none known).

        Spaces whose every state carries a reward can say, per action, how much the reward
        changes; a forward-looking GFlowNet adds this to its network's output so the network
        learns only what is not known in closed form.
        """
        return None

    @abstractmethod
    def state_from(self, raw: Any) -> State:
        """A one-row state batch from a user-level description (validated)."""

    @abstractmethod
    def describe(self, state: State) -> list[Any]:
        """User-level description of each state (coordinates, edge lists ...)."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """Everything needed to rebuild this environment (saved in checkpoints)."""

    # --- optional -----------------------------------------------------------------------------
    def states_along(
        self, actions: torch.Tensor, traj: torch.Tensor, step: torch.Tensor
    ) -> State | None:
        """The state in which each visit ``v`` decides: row ``traj[v]`` of the paths ``actions``
        ``[n, L]`` after its first ``step[v]`` actions (all of them non-stop), or None when
        this space has no way to get them without stepping through the paths one action at a
        time (the default).

        Why: replaying known paths (reference graphs, a replay buffer) is most of a training
        step's environment work, and a space whose state is a function of the *set* of actions
        taken can build every prefix state at once.
        """
        return None

    def n_parents(self, state: State) -> torch.Tensor:
        """Number of parents of each state (for the uniform backward policy)."""
        return self.backward_mask(state).sum(-1)

    def is_mode(self, state: State) -> torch.Tensor:
        """Bool ``[B]``: which states count as modes of the reward (default: none)."""
        return torch.zeros(state_batch_size(state), dtype=torch.bool, device=self.device)

    @property
    def enumerable(self) -> bool:
        """Whether :meth:`enumerate_states` is available (exact metrics)."""
        return False

    def enumerate_states(self) -> State:
        """Every state of the space (each is also a terminal hypothesis)."""
        raise NotImplementedError(f"{self.name} is too large to enumerate")

    def level(self, state: State) -> torch.Tensor:
        """Number of non-stop actions from s0 to each state (for exact dynamic programming)."""
        raise NotImplementedError(f"{self.name} does not define levels")
