"""Benchmark: the DAG GFlowNet's device path, on the CPU and on a GPU (issue #15, item 2).

Why: the cognition tier promises that the same code trains and samples on a GPU when one is
there (``GFlowNetConfig(device="cuda")``, ``DAGHypotheses(score, device="cuda")``). CI has no
GPU, so this script is the check, run where one is lent: does the device path run, does it give
the same numbers as the CPU for the same weights, how fast is it, and how much device memory
does it take as d grows (the issue's bound: d = 50 within 4 GB).

Per device and d (one subprocess each, so peak memory is per configuration): an Erdős–Rényi DAG
with d edges and ``--rows`` linear-Gaussian rows (``emily.cognition.data``), scored by BGe, and
the registry's default DAG variant (``default_variant("dag")``, batch ``--batch``):
* ``train_steps_per_s``: optimiser steps per wall second over ``--steps`` steps, after
  ``--warmup`` steps (the device is synchronised before each clock read). The default variant
  draws structure-MCMC reference graphs on the CPU every step, so this includes that CPU work.
* ``generate_per_s``: graphs per wall second, drawing ``--samples`` in one ``generate`` call
  (after one warm-up call of 64).
* ``peak_mb``: on a GPU ``torch.cuda.max_memory_allocated`` (device memory the tensors took);
  on the CPU the process's peak resident set (``VmHWM``, which includes the interpreter and
  torch, ~300-400 MB).
* ``acyclic``: every generated graph is a DAG.
* On a GPU also agreement with the CPU for the same weights: the trained policy is copied to a
  CPU twin, and both score the same trajectories (the generated graphs replayed through
  ``actions_from_adjacency``): ``max_abs_log_pf_diff`` and ``max_rel_log_pf_diff`` (the
  difference over ``max(1, |log P_F|)``: a float32 policy whose paths' log P_F sum up to d²
  terms) and ``max_abs_log_reward_diff`` (float64 BGe scores).

Reproduce (``--devices`` defaults to ``cpu`` plus ``cuda`` when torch sees one):
    .venv/bin/python benchmarks/cognition_device.py --json
    .venv/bin/python benchmarks/cognition_device.py --quick --json   # d 8 and 12, few steps

Progress goes to stderr; with ``--json`` the last stdout line is one JSON object: ``configs``
(one row per device and d), ``devices``, ``gpu_name``, ``threads`` (CPU threads of the CPU
rows) and ``goals``: ``gpu_d50_within_4gb``, ``gpu_agrees_with_cpu`` (log P_F within 1e-5 of
its size and log R within 1e-6 on every graph), both ``null`` when no GPU ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

GOAL_D50_MB = 4096.0
LOG_PF_RELATIVE_TOLERANCE = 1e-5
"""The policy runs in float32: a path's log P_F sums hundreds of log-probabilities (about -5,000
at d = 50), so the devices' different summation orders differ by ~1e-6 of it, not by 1e-3."""
LOG_REWARD_TOLERANCE = 1e-6  # float64 BGe on both sides


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def vm_hwm_mb() -> float | None:
    """Peak resident set of this process (Linux ``VmHWM``), or None where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(device: str, d: int, args: argparse.Namespace) -> dict[str, Any]:
    """One device and d in this process (the ``--worker`` side)."""
    import torch

    from emily.cognition import BGeScore, DAGHypotheses, GFlowNet
    from emily.cognition.data import synthetic_linear_gaussian
    from emily.cognition.equivalence import is_acyclic
    from emily.cognition.registry import default_variant, variant_config

    cuda = device.startswith("cuda")
    if not cuda:
        torch.set_num_threads(args.threads)

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    frame, _ = synthetic_linear_gaussian(d=d, n=args.rows, seed=args.seed, noise=1.0)
    env = DAGHypotheses(BGeScore(frame), device=device)
    variant = default_variant(env.name)
    config = variant_config(
        variant, seed=args.seed, device=device, batch_size=args.batch, num_threads=None
    )
    net = GFlowNet(env, config)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    net.train(steps=args.warmup, progress=False)
    sync()
    t0 = time.perf_counter()
    net.train(steps=args.steps, progress=False)
    sync()
    train_s = time.perf_counter() - t0
    net.generate(64)
    sync()
    t0 = time.perf_counter()
    samples = net.generate(args.samples)
    sync()
    generate_s = time.perf_counter() - t0
    adjacency = samples.states["adj"].cpu().numpy().astype(bool)
    row: dict[str, Any] = {
        "device": device,
        "d": d,
        "variant": variant,
        "batch": args.batch,
        "steps": args.steps,
        "train_steps_per_s": args.steps / train_s,
        "samples": args.samples,
        "generate_per_s": args.samples / generate_s,
        "mean_edges": float(adjacency.sum(axis=(1, 2)).mean()),
        "acyclic": bool(is_acyclic(adjacency).all()),
    }
    if cuda:
        row["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        row.update(agreement(net, env, adjacency, frame))
    else:
        row["peak_mb"] = vm_hwm_mb()
        row["threads"] = torch.get_num_threads()
    return row


def agreement(net: Any, env: Any, adjacency: Any, frame: Any) -> dict[str, float]:
    """How far the GPU's log P_F and log R are from a CPU twin's on the same trajectories."""
    import torch

    from emily.cognition import BGeScore, DAGHypotheses, GFlowNet
    from emily.cognition.samplers import evaluate, sample_trajectories

    twin_env = DAGHypotheses(BGeScore(frame), device="cpu")
    twin = GFlowNet(twin_env, net.config.model_copy(update={"device": "cpu"}))
    twin.policy.load_state_dict({k: v.cpu() for k, v in net.policy.state_dict().items()})
    graphs = adjacency[: min(len(adjacency), 512)]
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for name, model, space in (("gpu", net, env), ("cpu", twin, twin_env)):
        actions, _, log_reward = space.actions_from_adjacency(graphs)
        with torch.no_grad():
            traj = sample_trajectories(space, model.net, len(graphs), forced_actions=actions)
            log_pf = evaluate(model.net, traj, learned_pb=False).log_pf
        out[name] = (log_pf.double().cpu(), torch.as_tensor(log_reward).double().cpu())
    pf_diff = (out["gpu"][0] - out["cpu"][0]).abs()
    return {
        "agreement_graphs": len(graphs),
        "max_abs_log_pf_diff": float(pf_diff.max()),
        "max_rel_log_pf_diff": float((pf_diff / out["cpu"][0].abs().clamp(min=1.0)).max()),
        "max_abs_log_reward_diff": float((out["gpu"][1] - out["cpu"][1]).abs().max()),
    }


def run_worker(device: str, d: int, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one configuration in a fresh process; its JSON is the last stdout line."""
    cmd = [sys.executable, __file__, "--worker", device, "--d", str(d)]
    for flag in ("rows", "batch", "steps", "warmup", "samples", "seed", "threads"):
        cmd += [f"--{flag}", str(getattr(args, flag))]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        return {"device": device, "d": d, "error": " | ".join(tail) or f"rc {done.returncode}"}
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["process_s"] = time.perf_counter() - started
    return row


def gpu_name() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def goals(rows: list[dict[str, Any]]) -> dict[str, bool | None]:
    """The issue's checks over the GPU rows (None when no GPU row ran)."""
    gpu = [r for r in rows if str(r["device"]).startswith("cuda")]
    if not gpu:
        return {"gpu_d50_within_4gb": None, "gpu_agrees_with_cpu": None, "gpu_ran": False}
    ok = [r for r in gpu if "error" not in r]
    d50 = [r for r in ok if r["d"] == 50]
    return {
        "gpu_ran": len(ok) == len(gpu),
        "gpu_d50_within_4gb": all(r["peak_mb"] <= GOAL_D50_MB for r in d50) if d50 else None,
        "gpu_agrees_with_cpu": bool(ok)
        and all(
            r["max_rel_log_pf_diff"] <= LOG_PF_RELATIVE_TOLERANCE
            and r["max_abs_log_reward_diff"] <= LOG_REWARD_TOLERANCE
            and r["acyclic"]
            for r in ok
        ),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'device':8} {'d':>4} {'steps/s':>9} {'graphs/s':>10} {'edges':>7} {'peak MB':>9}")
    for r in rows:
        if "error" in r:
            print(f"{r['device']:8} {r['d']:>4}  error: {r['error']}")
            continue
        print(
            f"{r['device']:8} {r['d']:>4} {r['train_steps_per_s']:>9.2f} "
            f"{r['generate_per_s']:>10.0f} {r['mean_edges']:>7.1f} {r['peak_mb'] or 0:>9.0f}"
        )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="d 8 and 12, 5 steps, 512 samples")
    p.add_argument("--json", action="store_true", help="print every figure as one JSON line, last")
    p.add_argument("--devices", help="comma-separated (cpu, cuda); default cpu + cuda if seen")
    p.add_argument("--dims", help="comma-separated d <= 62 (quick: 8,12; default 20,50)")
    p.add_argument("--rows", type=int, default=1000, help="data rows (1000)")
    p.add_argument("--batch", type=int, default=32, help="training batch (32: the variant's)")
    p.add_argument("--steps", type=int, help="timed training steps (quick 5; 30)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (2)")
    p.add_argument("--samples", type=int, help="graphs per generate call (quick 512; 4096)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads")
    p.add_argument("--timeout", type=float, default=900, help="seconds per configuration")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--d", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    a.steps = a.steps or (5 if a.quick else 30)
    a.samples = a.samples or (512 if a.quick else 4096)
    return a


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.d, args)))
        return
    dims = [int(x) for x in (args.dims or ("8,12" if args.quick else "20,50")).split(",")]
    name = gpu_name()
    devices = (args.devices or ("cpu,cuda" if name else "cpu")).split(",")
    rows = []
    for d in dims:
        for device in devices:
            log(f"measuring {device} d={d} ...")
            rows.append(run_worker(device, d, args))
            log(f"  {json.dumps(rows[-1])}")
    print_table(rows)
    if args.json:
        summary = {"configs": rows, "devices": devices, "gpu_name": name, "threads": args.threads}
        print(json.dumps({**summary, "goals": goals(rows)}))


if __name__ == "__main__":
    main()
