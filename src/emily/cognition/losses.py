"""GFlowNet training objectives, as pure functions of per-trajectory quantities.

* :func:`trajectory_balance` (Malkin et al., 2022):
  ``(log Z + sum_t log P_F(s_t+1|s_t) - log R(x) - sum_t log P_B(s_t|s_t+1))^2``.
* :func:`log_partition_variance`: trajectory balance with the batch-optimal log Z (VarGrad).
* :func:`modified_detailed_balance` (Deleu et al., 2022) for spaces where every state may stop
  (DAGs, HyperGrid): per transition ``s -> s'``,
  ``log R(s') + log P_B(s|s') + log P_F(stop|s) = log R(s) + log P_F(s'|s) + log P_F(stop|s')``.
"""

from __future__ import annotations

import torch


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
