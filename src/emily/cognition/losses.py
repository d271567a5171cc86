"""GFlowNet training objectives, as pure functions of per-trajectory quantities.

* :func:`trajectory_balance` (Malkin et al., 2022):
  ``(log Z + sum_t log P_F(s_t+1|s_t) - log R(x) - sum_t log P_B(s_t|s_t+1))^2``.
* :func:`log_partition_variance`: trajectory balance with the batch-optimal log Z (VarGrad).
* :func:`modified_detailed_balance` (Deleu et al., 2022) for spaces where every state may stop
  (DAGs, HyperGrid): per transition ``s -> s'``,
  ``log R(s') + log P_B(s|s') + log P_F(stop|s) = log R(s) + log P_F(s'|s) + log P_F(stop|s')``.

Each is registered by name (:data:`LOSSES`, :func:`register_loss`): a variant's ``loss`` is a
registered name, and :func:`batch_loss` is how the GFlowNet turns one step's trajectories into
one objective, so a new objective is one :class:`Loss` registered here rather than a branch in
the training loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from emily.cognition.named import Registry
from emily.core.errors import InputError

if TYPE_CHECKING:
    from emily.cognition.samplers import Evaluated, Trajectories

Part = tuple["Evaluated", "Trajectories"]
"""One group of a step's trajectories (fresh, replayed or reference) and its evaluation."""


def trajectory_balance(
    log_z: torch.Tensor,
    log_pf: torch.Tensor,
    log_pb: torch.Tensor,
    log_reward: torch.Tensor,
) -> torch.Tensor:
    """Mean squared trajectory-balance residual over a batch (all but log Z are ``[B]``)."""
    residual = log_z + log_pf - log_reward - log_pb
    return residual.pow(2).mean()


def log_partition_variance(
    log_pf: torch.Tensor, log_pb: torch.Tensor, log_reward: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Trajectory balance with the batch's own best log Z (VarGrad; Richter et al. 2020,
    Zhang et al. 2023): the variance of ``log R + sum log P_B - sum log P_F`` over the batch,
    and that mean (the log Z estimate, detached).

    A learned log Z moves about its learning rate per Adam step, so on a posterior whose
    log-rewards sit hundreds of nats above the empty graph's it lags for thousands of steps,
    and every residual carries the same huge offset: the gradient then just raises the
    likelihood of whatever was sampled. The batch-optimal log Z has no such lag.
    """
    estimate = log_reward + log_pb - log_pf
    centre = estimate.mean()
    return (estimate - centre).pow(2).mean(), centre.detach()


def modified_detailed_balance(
    log_pf_visit: torch.Tensor,
    log_pb_visit: torch.Tensor,
    log_pf_stop: torch.Tensor,
    log_reward_visit: torch.Tensor,
    next_visit: torch.Tensor,
) -> torch.Tensor:
    """Mean squared modified-DB residual over the non-stop transitions of a batch of visits.

    All arguments are ``[V]``, one entry per visit (decision): the forward log-prob of its action,
    the backward log-prob of undoing it, the log-prob of stopping there, the log-reward of the
    visited state and the index of the visit of the next state (``-1`` when the action stops).
    """
    moves = next_visit >= 0
    src = moves.nonzero().squeeze(1)
    dst = next_visit[src]
    residual = (
        log_reward_visit[dst]
        + log_pb_visit[src]
        + log_pf_stop[src]
        - log_reward_visit[src]
        - log_pf_visit[src]
        - log_pf_stop[dst]
    )
    if residual.numel() == 0:
        return log_pf_stop.sum() * 0.0
    return residual.pow(2).mean()


# --- the registry --------------------------------------------------------------------------------
GroupLoss = Callable[[torch.Tensor, "Evaluated", "Trajectories"], torch.Tensor]
"""A loss of one group: ``(log_z, evaluated, trajectories) -> scalar``."""
PooledLoss = Callable[[torch.Tensor, Sequence[Part]], tuple[torch.Tensor, torch.Tensor | None]]
"""A loss over every group of a step at once: ``(log_z, parts) -> (scalar, log Z estimate)``."""


@dataclass(frozen=True)
class Loss:
    """A training objective, as the GFlowNet's training step uses it.

    Attributes:
        name: What a variant's ``loss`` names.
        summary: One line on what it balances.
        group: The loss of one group of trajectories; the step's loss is the
            trajectory-weighted mean over its groups. Exactly one of ``group`` and ``pooled``.
        pooled: The loss over all of a step's groups at once, and the log Z it estimates (copied
            into the model's log Z, which then is estimated rather than learned).
        per_visit: Needs the log-reward of every visited state (recorded while sampling).
    """

    name: str
    summary: str
    group: GroupLoss | None = None
    pooled: PooledLoss | None = None
    per_visit: bool = False

    def __post_init__(self) -> None:
        if (self.group is None) == (self.pooled is None):
            raise InputError(f"loss {self.name!r} needs exactly one of group= and pooled=")


LOSSES: Registry[Loss] = Registry("loss")
"""Registered objectives by name (see :func:`register_loss`)."""


def register_loss(loss: Loss, *, replace: bool = False) -> Loss:
    """Add ``loss`` to :data:`LOSSES` (``replace=True`` to redefine a name); returns it."""
    return LOSSES.add(loss.name, loss, replace=replace)


def loss_names() -> list[str]:
    """Registered loss names, in registration order."""
    return LOSSES.names()


def get_loss(name: str) -> Loss:
    """The registered loss ``name``."""
    return LOSSES.get(name)


def batch_loss(
    name: str, log_z: torch.Tensor, parts: Sequence[Part]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step's objective over its groups of trajectories, and a log Z estimate (``None``
    unless the loss estimates log Z rather than learning it)."""
    loss = get_loss(name)
    if loss.pooled is not None:
        return loss.pooled(log_z, parts)
    assert loss.group is not None
    total = sum(traj.batch_size for _, traj in parts)
    zero = torch.zeros((), device=log_z.device)
    weighted = (loss.group(log_z, ev, traj) * traj.batch_size for ev, traj in parts)
    return sum(weighted, zero) / total, None


def _tb(log_z: torch.Tensor, ev: Evaluated, traj: Trajectories) -> torch.Tensor:
    return trajectory_balance(log_z, ev.log_pf, ev.log_pb, traj.log_reward.float())


def _mdb(log_z: torch.Tensor, ev: Evaluated, traj: Trajectories) -> torch.Tensor:
    if traj.log_reward_visit is None:
        raise InputError("modified detailed balance needs per-visit log-rewards")
    return modified_detailed_balance(
        ev.log_pf_visit, ev.log_pb_visit, ev.log_pf_stop, traj.log_reward_visit, traj.next_visit
    )


def _vargrad(
    log_z: torch.Tensor, parts: Sequence[Part]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One variance over fresh, replayed and reference paths alike (one log Z for all)."""
    return log_partition_variance(
        torch.cat([ev.log_pf for ev, _ in parts]),
        torch.cat([ev.log_pb for ev, _ in parts]),
        torch.cat([traj.log_reward.float() for _, traj in parts]),
    )


register_loss(Loss("tb", "trajectory balance with a learned log Z", group=_tb))
register_loss(
    Loss("mdb", "modified detailed balance (every state may stop)", group=_mdb, per_visit=True)
)
register_loss(Loss("vargrad", "trajectory balance with the batch-optimal log Z", pooled=_vargrad))
