"""Benchmark: trajectory balance on HyperGrid (ndim=4, height=8), ours vs torchgfn, same run.

Both sides use the same MLP (2 hidden layers of 256, ReLU, k-hot input), batch size, learning rates
(1e-3 for the network, 0.1 for log Z, Adam), uniform backward policy, on-policy sampling, one torch
thread, and the same trajectory budget. At evenly spaced checkpoints each side's exact terminal
distribution is computed from its forward policy by dynamic programming over all 4,096 states, and
its L1 distance to the exact target is recorded against training time (evaluation time excluded).
Target L1 = the peer's final L1; ``ratio`` = peer's time to reach it / our time to reach it.
Wall-clock seconds are the headline; CPU seconds (``*_cpu_*``) are reported too because the
machine may be shared.

Usage: python benchmarks/gflownet_hypergrid.py [--quick] [--json] [--trajectories N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from common import first_reaching, run_peer

from emily.cognition import GFlowNet, HyperGrid
from emily.cognition.registry import variant_config


def run_ours(args: argparse.Namespace, target: float) -> dict[str, Any]:
    """Train for the shared budget; if the target L1 is not reached by then, keep going (up to
    ``--extend`` x the budget) only to time when it is reached: the same-budget numbers
    (final L1, throughput) are taken at the budget, and the extension is reported."""
    env = HyperGrid(args.ndim, args.height, args.R0, args.R1, args.R2)
    cfg = variant_config(
        args.variant,
        hidden=args.hidden,
        n_layers=args.layers,
        batch_size=args.batch,
        lr=args.lr,
        lr_log_z=args.lr_logz,
        seed=args.seed,
        num_threads=1,
    )
    net = GFlowNet(env, cfg)
    steps = args.trajectories // args.batch
    every = max(1, steps // args.checkpoints)
    curve, train_s, cpu_s, done = [], 0.0, 0.0, 0
    net.exact_metrics()  # build the state graph once, outside the timed region
    at_budget: dict[str, Any] = {}
    while done < steps or (done < steps * args.extend and min(p["l1"] for p in curve) > target):
        chunk = min(every, steps - done) if done < steps else every
        w0, c0 = time.perf_counter(), time.process_time()
        net.train(steps=chunk, progress=False)
        train_s += time.perf_counter() - w0
        cpu_s += time.process_time() - c0
        done += chunk
        l1, jsd = net.exact_metrics()
        curve.append(
            {
                "step": done,
                "trajectories": net.trajectory_count,
                "train_s": train_s,
                "cpu_s": cpu_s,
                "l1": l1,
                "jsd": jsd,
            }
        )
        if done == steps:
            at_budget = {
                "trajectories": net.trajectory_count,
                "train_s": train_s,
                "cpu_s": cpu_s,
                "traj_per_s": net.trajectory_count / train_s,
                "final_l1": l1,
                "log_z": net.log_z.item(),
            }
    return {**at_budget, "extended_to": net.trajectory_count, "curve": curve}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small budget (about a minute or two)")
    ap.add_argument("--json", action="store_true", help="print one JSON line only")
    ap.add_argument("--trajectories", type=int, default=None)
    ap.add_argument("--checkpoints", type=int, default=25)
    ap.add_argument("--variant", default="v1")
    ap.add_argument("--seed", type=int, default=0)
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
    ap.add_argument(
        "--extend",
        type=float,
        default=2.0,
        help="if our L1 has not reached the target at the budget, keep timing up "
        "to this multiple of the budget (reported as ours_extended_to)",
    )
    args = ap.parse_args()
    if args.trajectories is None:
        args.trajectories = 16_000 if args.quick else 96_000
    if args.quick:
        args.checkpoints = min(args.checkpoints, 10)

    shared = [
        "--ndim", str(args.ndim), "--height", str(args.height), "--R0", str(args.R0),
        "--R1", str(args.R1), "--R2", str(args.R2), "--batch", str(args.batch),
        "--hidden", str(args.hidden), "--layers", str(args.layers), "--lr", str(args.lr),
        "--lr-logz", str(args.lr_logz), "--trajectories", str(args.trajectories),
        "--checkpoints", str(args.checkpoints), "--seed", str(args.seed),
    ]  # fmt: skip
    peer = run_peer("torchgfn_hypergrid.py", shared)
    target = peer["final_l1"]
    prev = torch.get_num_threads()
    ours = run_ours(args, target)
    torch.set_num_threads(prev)

    ours_t = first_reaching(ours["curve"], "l1", target, "train_s")
    peer_t = first_reaching(peer["curve"], "l1", target, "train_s")
    ours_c = first_reaching(ours["curve"], "l1", target, "cpu_s")
    peer_c = first_reaching(peer["curve"], "l1", target, "cpu_s")
    result = {
        "benchmark": "gflownet_hypergrid",
        "env": f"HyperGrid(ndim={args.ndim}, height={args.height}, R0={args.R0}, "
        f"R1={args.R1}, R2={args.R2})",
        "variant": args.variant,
        "batch_size": args.batch,
        "trajectory_budget": args.trajectories,
        "ours_traj_per_s": ours["traj_per_s"],
        "peer_traj_per_s": peer["traj_per_s"],
        "ours_l1": ours["final_l1"],
        "ours_extended_to": ours["extended_to"],
        "peer_l1": peer["final_l1"],
        "target_l1": target,
        "ours_s_to_target": ours_t,
        "peer_s_to_target": peer_t,
        "ratio": (peer_t / ours_t) if ours_t and peer_t else None,
        "ours_cpu_s_to_target": ours_c,
        "peer_cpu_s_to_target": peer_c,
        "cpu_ratio": (peer_c / ours_c) if ours_c and peer_c else None,
        "throughput_ratio": ours["traj_per_s"] / peer["traj_per_s"],
        "ours_train_s": ours["train_s"],
        "peer_train_s": peer["train_s"],
        "ours_log_z": ours["log_z"],
        "peer_log_z": peer["log_z"],
        "peer_version": peer["torchgfn_version"],
        "ours_curve": [{k: round(v, 5) for k, v in p.items()} for p in ours["curve"]],
        "peer_curve": [{k: round(v, 5) for k, v in p.items()} for p in peer["curve"]],
    }
    if args.json:
        print(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"GFlowNet TB on {result['env']}, {args.trajectories} trajectories")
    for col in ("", "ours", "torchgfn"):
        table.add_column(col)
    table.add_row("trajectories / s", f"{ours['traj_per_s']:.0f}", f"{peer['traj_per_s']:.0f}")
    table.add_row("final exact L1", f"{ours['final_l1']:.4f}", f"{peer['final_l1']:.4f}")
    table.add_row("s to target L1", f"{ours_t}", f"{peer_t}")
    Console().print(table)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("curve")}))


if __name__ == "__main__":
    main()
