"""Losses against hand-computed values on tiny cases."""

from __future__ import annotations

import math

import pytest
import torch

from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid
from emily.cognition.losses import modified_detailed_balance, trajectory_balance
from emily.cognition.samplers import evaluate, sample_trajectories


def test_tb_loss_equals_hand_computed_value() -> None:
    # Two trajectories: residual_i = logZ + sum log PF - log R - sum log PB.
    log_z = torch.tensor(0.5)
    log_pf = torch.tensor([math.log(0.5) + math.log(0.25), math.log(0.2)])
    log_pb = torch.tensor([math.log(0.5), 0.0])
    log_r = torch.tensor([math.log(2.0), math.log(0.1)])
    r1 = 0.5 + math.log(0.5) + math.log(0.25) - math.log(2.0) - math.log(0.5)
    r2 = 0.5 + math.log(0.2) - math.log(0.1)
    expected = (r1**2 + r2**2) / 2
    assert trajectory_balance(log_z, log_pf, log_pb, log_r).item() == pytest.approx(expected)


def test_tb_loss_of_a_real_rollout_matches_manual_sum_over_actions() -> None:
    """On HyperGrid(1, 3) the loss of sampled trajectories equals a by-hand evaluation."""
    env = HyperGrid(ndim=1, height=3)
    net = GFlowNet(env, GFlowNetConfig(hidden=8, n_layers=1, seed=3, init_log_z=0.7))
    torch.manual_seed(0)
    traj = sample_trajectories(env, net.policy, 6)
    ev = evaluate(net.policy, traj, learned_pb=False)
    loss = trajectory_balance(net.log_z, ev.log_pf, ev.log_pb, traj.log_reward.float())
    manual = []
    with torch.no_grad():
        for b in range(6):
            x, total = 0, 0.7
            for v in (traj.traj == b).nonzero().squeeze(1).tolist():
                obs = env.obs({"x": torch.tensor([[x]])})
                logits = net.policy.forward_logits(obs)[0]
                allowed = torch.tensor([x < 2, True])
                probs = torch.softmax(logits.masked_fill(~allowed, -float("inf")), 0)
                a = int(traj.actions[v])
                total += math.log(probs[a])
                if a == 0:
                    x += 1  # one parent in 1-D: log P_B = 0
            total -= math.log(env.log_reward({"x": torch.tensor([[x]])}).exp().item())
            manual.append(total**2)
    assert loss.item() == pytest.approx(sum(manual) / 6, rel=1e-5)


def test_modified_db_equals_hand_computed_value() -> None:
    # visits: s0 -(a)-> s1 -(stop); one transition s0 -> s1.
    lp_pf = torch.tensor([math.log(0.6), math.log(0.3)])
    lp_pb = torch.tensor([math.log(1.0), 0.0])
    lp_stop = torch.tensor([math.log(0.4), math.log(0.3)])
    log_r = torch.tensor([math.log(1.0), math.log(3.0)])
    nxt = torch.tensor([1, -1])
    residual = math.log(3.0) + 0.0 + math.log(0.4) - 0.0 - math.log(0.6) - math.log(0.3)
    got = modified_detailed_balance(lp_pf, lp_pb, lp_stop, log_r, nxt)
    assert got.item() == pytest.approx(residual**2)


def test_modified_db_with_no_transition_is_zero_and_differentiable() -> None:
    stop = torch.tensor([math.log(0.5)], requires_grad=True)
    loss = modified_detailed_balance(
        torch.zeros(1), torch.zeros(1), stop, torch.zeros(1), torch.tensor([-1])
    )
    loss.backward()
    assert loss.item() == 0.0
