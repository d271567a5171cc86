"""HyperGrid (Bengio et al., 2021): the field's standard GFlowNet benchmark.

States are points of ``{0 .. height-1}^ndim``; an action adds one to a coordinate, or stops. The
reward is the standard one, with ``ax_i = |x_i / (height - 1) - 0.5|``::

    R(x) = R0 + R1 * prod_i [0.25 < ax_i <= 0.5] + R2 * prod_i [0.3 < ax_i < 0.4]

so there are ``2^ndim`` modes near the corners, separated by low-reward plains.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from emily.cognition.envs.base import Environment, State
from emily.core.errors import InputError

_EPS = 1e-6


class HyperGrid(Environment):
    """``HyperGrid(ndim, height, R0, R1, R2)`` with the standard reward."""

    name = "hypergrid"

    def __init__(
        self,
        ndim: int = 4,
        height: int = 8,
        R0: float = 0.1,  # noqa: N803 - the field's names
        R1: float = 0.5,  # noqa: N803
        R2: float = 2.0,  # noqa: N803
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(device)
        if not isinstance(ndim, int) or ndim < 1:
            raise InputError(f"HyperGrid ndim must be an int >= 1, got {ndim!r}")
        if not isinstance(height, int) or height < 2:
            raise InputError(f"HyperGrid height must be an int >= 2, got {height!r}")
        for name, value in (("R0", R0), ("R1", R1), ("R2", R2)):
            if not math.isfinite(value) or value < 0:
                raise InputError(f"HyperGrid {name} must be finite and >= 0, got {value!r}")
        if R0 <= 0:
            raise InputError(f"HyperGrid R0 must be > 0 (every state needs a reward), got {R0!r}")
        if height**ndim > 50_000_000:
            raise InputError(f"HyperGrid of {height}^{ndim} states is too large")
        self.ndim, self.height = ndim, height
        self.R0, self.R1, self.R2 = float(R0), float(R1), float(R2)
        self.n_actions = ndim + 1
        self.obs_dim = ndim * height
        self.max_steps = ndim * (height - 1)
        self._offsets = torch.arange(ndim, device=self.device) * height
        self._strides = height ** torch.arange(ndim - 1, -1, -1, device=self.device)
        self._eye = torch.eye(ndim + 1, dtype=torch.long, device=self.device)[:, :ndim]

    # --- interface ----------------------------------------------------------------------------
    def initial_state(self, n: int) -> State:
        return {"x": torch.zeros(n, self.ndim, dtype=torch.long, device=self.device)}

    def obs(self, state: State) -> torch.Tensor:
        x = state["x"]
        out = torch.zeros(x.shape[0], self.obs_dim, device=self.device)
        return out.scatter_(1, x + self._offsets, 1.0)

    def forward_mask(self, state: State) -> torch.Tensor:
        x = state["x"]
        stop = torch.ones(x.shape[0], 1, dtype=torch.bool, device=self.device)
        return torch.cat([x < self.height - 1, stop], dim=1)

    def backward_mask(self, state: State) -> torch.Tensor:
        return state["x"] > 0

    def step(self, state: State, actions: torch.Tensor) -> State:
        return {"x": state["x"] + self._eye[actions]}

    def log_reward(self, state: State) -> torch.Tensor:
        ax = (state["x"].double() / (self.height - 1) - 0.5).abs()
        r1 = (ax > 0.25 + _EPS).all(-1).double()
        r2 = ((ax > 0.3 + _EPS) & (ax < 0.4 - _EPS)).all(-1).double()
        return (self.R0 + self.R1 * r1 + self.R2 * r2).log()

    def key(self, state: State) -> torch.Tensor:
        return (state["x"] * self._strides).sum(-1)

    def embed(self, state: State) -> torch.Tensor:
        return state["x"].float() / (self.height - 1)

    def state_from(self, raw: Any) -> State:
        x = torch.as_tensor(raw, device=self.device)
        if x.dtype.is_floating_point:
            if not torch.isfinite(x).all() or (x != x.round()).any():
                raise InputError(f"HyperGrid coordinates must be integers, got {raw!r}")
            x = x.long()
        if x.shape != (self.ndim,):
            raise InputError(
                f"HyperGrid state must have shape ({self.ndim},), got {tuple(x.shape)}"
            )
        if (x < 0).any() or (x >= self.height).any():
            raise InputError(f"HyperGrid coordinates must lie in [0, {self.height - 1}]: {raw!r}")
        return {"x": x.long().unsqueeze(0)}

    def describe(self, state: State) -> list[Any]:
        return [tuple(int(v) for v in row) for row in state["x"].tolist()]

    def spec(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "ndim": self.ndim,
            "height": self.height,
            "R0": self.R0,
            "R1": self.R1,
            "R2": self.R2,
        }

    # --- optional -----------------------------------------------------------------------------
    def is_mode(self, state: State) -> torch.Tensor:
        top = math.log(self.R0 + self.R1 + self.R2) - 1e-9
        return self.log_reward(state) >= top

    @property
    def n_modes(self) -> int:
        """Number of states with the top reward."""
        return int(self.is_mode(self.enumerate_states()).sum())

    @property
    def enumerable(self) -> bool:
        return True

    def enumerate_states(self) -> State:
        n = self.height**self.ndim
        idx = torch.arange(n, device=self.device)
        x = (idx.unsqueeze(1) // self._strides) % self.height
        return {"x": x}

    def level(self, state: State) -> torch.Tensor:
        return state["x"].sum(-1)
