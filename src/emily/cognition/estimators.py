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
    """``obs -> hidden x n_layers (ReLU) -> forward logits [, backward logits]``.

    ``stop_bias`` starts the stop logit there (the others start near 0): with ``A`` allowed
    moves an untrained sampler stops with probability ``e^b / (e^b + A)`` per step, so
    ``b = log(A / L)`` makes its trajectories about ``L`` moves long instead of ``~A``.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: int = 256,
        n_layers: int = 2,
        learned_pb: bool = False,
        stop_bias: float = 0.0,
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
        if stop_bias:  # the stop action is the last one (see Environment.stop_action)
            with torch.no_grad():
                self.pf_head.bias[-1] = stop_bias

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


class EdgePolicy(nn.Module):
    """A policy over "add edge i -> j or stop" built from node embeddings (DAG spaces).

    An MLP over the flattened ``2 d^2`` observation grows as ``d^4`` and learns each edge's
    logit separately. Here every node gets an embedding from its identity and from the
    identities of its parents, children, ancestors and descendants (four adjacency products),
    and the logit of ``i -> j`` is the scaled dot product of a source view of ``i`` and a target
    view of ``j``: parameters grow as ``d``, compute as ``d^2`` per state, and what the net
    learns about one edge transfers to edges that share a node (the edge-wise structure of
    DAG-GFlowNet's transformer policy, at a fraction of its cost). The output layers start at
    zero, so an untrained net adds nothing to a forward-looking guide (``stop_bias``, 0 by
    default, offsets only the stop logit; see :class:`PolicyMLP`).
    """

    def __init__(self, d: int, hidden: int = 64, n_layers: int = 2, stop_bias: float = 0.0) -> None:
        super().__init__()
        if d < 2 or hidden < 1 or n_layers < 1:
            raise InputError(f"bad EdgePolicy sizes: d={d}, hidden={hidden}, n_layers={n_layers}")
        self.d, self.hidden = d, hidden
        self.obs_dim, self.n_actions = 2 * d * d, d * d + 1
        self.node_id = nn.Parameter(torch.randn(d, hidden) / hidden**0.5)
        layers: list[nn.Module] = []
        width = 5 * hidden + 4
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.source = nn.Linear(hidden, hidden)
        self.target = nn.Linear(hidden, hidden)
        self.stop = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        for head in (self.source, self.stop[-1]):
            assert isinstance(head, nn.Linear)
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        if stop_bias:
            stop_out = self.stop[-1]
            assert isinstance(stop_out, nn.Linear)
            nn.init.constant_(stop_out.bias, stop_bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.forward_logits(obs), None

    def forward_logits(self, obs: torch.Tensor) -> torch.Tensor:
        d, hid = self.d, self.hidden
        adj = obs[:, : d * d].view(-1, d, d)  # adj[b, i, j]: edge i -> j
        reach = obs[:, d * d :].view(-1, d, d).transpose(1, 2)  # reach[b, u, v]: path u -> v
        scale = 1.0 / d
        counts = torch.stack(
            [adj.sum(1), adj.sum(2), reach.sum(1) - 1.0, reach.sum(2) - 1.0], dim=-1
        )  # parents, children, ancestors, descendants of each node
        h = self._first_layer(adj, reach, counts * scale)
        for layer in list(self.trunk)[2:]:
            h = layer(h)  # [B, d, hidden]
        edge = self.source(h) @ self.target(h).transpose(1, 2) / hid**0.5
        n_edges = adj.flatten(1).sum(-1, keepdim=True) * scale
        stop = self.stop(torch.cat([h.mean(1), n_edges], dim=-1))
        return torch.cat([edge.flatten(1), stop], dim=1)

    def _first_layer(
        self, adj: torch.Tensor, reach: torch.Tensor, counts: torch.Tensor
    ) -> torch.Tensor:
        """The first trunk layer over ``[id, parents, children, ancestors, descendants, counts]``
        (each relation the mean of its members' identity embeddings), computed without building
        that ``5 hidden + 4``-wide input.

        Why: the relation blocks are linear in the embeddings, so ``W_p (A^T E) = A^T (E W_p)``;
        projecting the ``d`` embeddings once per call leaves one ``[B d, 4 d] x [4 d, hidden]``
        product per batch, instead of four relation products and a ``5 hidden``-wide layer
        per state (``4 d^2 h`` multiply-adds a state instead of ``4 d^2 h + 5 d h^2``). Same
        parameters and values as the concatenated form, so checkpoints are unchanged.
        """
        first = self.trunk[0]
        assert isinstance(first, nn.Linear)
        d, hid, w = self.d, self.hidden, first.weight
        emb = self.node_id
        own = F.linear(emb, w[:, :hid], first.bias)  # [d, hidden]
        rel_emb = (
            torch.cat([emb @ w[:, k * hid : (k + 1) * hid].T for k in range(1, 5)], dim=0) / d
        )  # [4 d, hidden]: parents', children's, ancestors', descendants' projections
        rel = torch.cat([adj.transpose(1, 2), adj, reach.transpose(1, 2), reach], dim=2)
        pre = rel @ rel_emb + own + counts @ w[:, 5 * hid :].T
        return torch.relu(pre)
