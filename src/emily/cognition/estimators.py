"""Networks: the forward policy, the backward policy (uniform or learned) and log Z.

:class:`PolicyMLP` maps observations to forward logits (``n_actions``) and, when the backward
policy is learned, backward logits (``n_actions - 1``) from a shared trunk, as is standard for
small discrete GFlowNets. Any ``nn.Module`` with the same ``forward(obs) -> (pf, pb | None)``
contract can replace it.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from emily.core.errors import InputError


class PolicyNet(Protocol):
    """What samplers and losses need of a network (``PolicyMLP`` or any replacement module)."""

    def __call__(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Forward logits ``[B, A]`` and backward logits ``[B, A-1]`` (or None if uniform)."""
        ...

    def forward_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """Forward logits only."""
        ...


class PolicyMLP(nn.Module):
    """``obs -> hidden x n_layers (ReLU) -> forward logits [, backward logits]``."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: int = 256,
        n_layers: int = 2,
        learned_pb: bool = False,
    ) -> None:
        super().__init__()
        if hidden < 1 or n_layers < 1 or obs_dim < 1 or n_actions < 2:
            raise InputError(
                f"bad PolicyMLP sizes: obs_dim={obs_dim}, n_actions={n_actions}, "
                f"hidden={hidden}, n_layers={n_layers}"
            )
        layers: list[nn.Module] = []
        width = obs_dim
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self._linears = [m for m in layers if isinstance(m, nn.Linear)]
        self.pf_head = nn.Linear(hidden, n_actions)
        self.pb_head = nn.Linear(hidden, n_actions - 1) if learned_pb else None
        self.obs_dim, self.n_actions = obs_dim, n_actions

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.trunk(obs)
        pb = self.pb_head(h) if self.pb_head is not None else None
        return self.pf_head(h), pb

    def forward_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """Forward logits only (the sampling hot path: plain functional calls, no hooks)."""
        h = obs
        for layer in self._linears:
            h = torch.relu(F.linear(h, layer.weight, layer.bias))
        return F.linear(h, self.pf_head.weight, self.pf_head.bias)


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-probabilities over the allowed entries (``-inf`` elsewhere)."""
    return logits.masked_fill(~mask, float("-inf")).log_softmax(-1)
