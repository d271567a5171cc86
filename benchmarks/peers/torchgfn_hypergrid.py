"""Peer runner: torchgfn's own HyperGrid and trajectory balance, measured like ours.

Runs inside the peer venv (benchmarks/peers/setup_peers.sh), never imports emily, and prints one
JSON line. Training time excludes the exact evaluations at checkpoints. The exact terminal
distribution of the sampler is computed from torchgfn's forward policy by dynamic programming
over all states (the same method our side uses), so L1 carries no sampling noise.

Usage: python torchgfn_hypergrid.py --ndim 4 --height 8 --batch 16 --trajectories 100000 ...
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from gfn.estimators import DiscretePolicyEstimator
from gfn.gflownet import TBGFlowNet
from gfn.gym import HyperGrid
from gfn.preprocessors import KHotPreprocessor
from gfn.utils.modules import MLP


def exact_terminal_distribution(env: HyperGrid, pf: DiscretePolicyEstimator) -> np.ndarray:
    """P_T over all height^ndim states (row-major index), from the forward policy, by DP."""
    ndim, height = env.ndim, env.height
    n = height**ndim
    strides = height ** np.arange(ndim - 1, -1, -1)
    grid = (np.arange(n)[:, None] // strides) % height
    states = env.States(torch.tensor(grid, dtype=torch.long))
    with torch.no_grad():
        logits = pf(states).double()
        masks = states.forward_masks
        logits[~masks] = -float("inf")
        probs = torch.softmax(logits, -1).numpy()
    reach = np.zeros(n)
    reach[0] = 1.0
    order = np.argsort(grid.sum(1), kind="stable")
    for s in order:
        for a in range(ndim):
            if grid[s, a] < height - 1:
                reach[s + strides[a]] += reach[s] * probs[s, a]
    return reach * probs[:, ndim]


def target_distribution(env: HyperGrid) -> np.ndarray:
    ndim, height = env.ndim, env.height
    n = height**ndim
    strides = height ** np.arange(ndim - 1, -1, -1)
    grid = (np.arange(n)[:, None] // strides) % height
    r = env.reward(env.States(torch.tensor(grid, dtype=torch.long))).double().numpy()
    return r / r.sum()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ndim", type=int, default=4)
    ap.add_argument("--height", type=int, default=8)
    ap.add_argument("--R0", type=float, default=0.1)
    ap.add_argument("--R1", type=float, default=0.5)
    ap.add_argument("--R2", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-logz", type=float, default=0.1)
    ap.add_argument("--trajectories", type=int, default=100_000)
    ap.add_argument("--checkpoints", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dist-out", default="")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    env = HyperGrid(
        ndim=args.ndim,
        height=args.height,
        reward_fn_kwargs={"R0": args.R0, "R1": args.R1, "R2": args.R2},
    )
    pre = KHotPreprocessor(height=args.height, ndim=args.ndim)
    module = MLP(
        input_dim=pre.output_dim,
        output_dim=env.n_actions,
        hidden_dim=args.hidden,
        n_hidden_layers=args.layers,
    )
    pf = DiscretePolicyEstimator(module, env.n_actions, preprocessor=pre)
    pb = DiscretePolicyEstimator.uniform(env.n_actions, preprocessor=pre)
    gfn = TBGFlowNet(pf=pf, pb=pb, init_logZ=0.0)
    optimizer = torch.optim.Adam(
        [
            {"params": list(pf.parameters()), "lr": args.lr},
            {"params": [gfn.logZ], "lr": args.lr_logz},
        ]
    )
    target = target_distribution(env)
    steps = args.trajectories // args.batch
    every = max(1, steps // args.checkpoints)
    curve = []
    train_s = cpu_s = 0.0
    for step in range(1, steps + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        trajectories = gfn.sample_trajectories(env, n=args.batch, save_logprobs=True)
        loss = gfn.loss(env, trajectories, recalculate_all_logprobs=False)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_s += time.perf_counter() - w0
        cpu_s += time.process_time() - c0
        if step % every == 0 or step == steps:
            p = exact_terminal_distribution(env, pf)
            l1 = float(np.abs(p / p.sum() - target).sum())
            curve.append(
                {
                    "step": step,
                    "trajectories": step * args.batch,
                    "train_s": train_s,
                    "cpu_s": cpu_s,
                    "l1": l1,
                }
            )
    final = exact_terminal_distribution(env, pf)
    if args.dist_out:
        np.save(args.dist_out, final / final.sum())
    print(
        json.dumps(
            {
                "peer": "torchgfn",
                "torchgfn_version": __import__("importlib.metadata").metadata.version("torchgfn"),
                "torch_version": torch.__version__,
                "threads": torch.get_num_threads(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "trajectories": steps * args.batch,
                "train_s": train_s,
                "cpu_s": cpu_s,
                "traj_per_s": steps * args.batch / train_s,
                "final_l1": curve[-1]["l1"],
                "log_z": float(gfn.logZ.detach()),
                "curve": curve,
            }
        )
    )


if __name__ == "__main__":
    main()
