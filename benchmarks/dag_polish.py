"""Benchmark: how far the exact edge-focused MH polish brings a DAG GFlowNet's draws, against
structure MCMC on the same CPU budget and against the same polish started from empty graphs.

Reproduce:
    .venv/bin/python benchmarks/dag_polish.py --json --jobs 2   # ~12 min on 2 idle cores
    .venv/bin/python benchmarks/dag_polish.py --quick --json    # ~1 min

Why: ``emily sample --polish K`` moves each GFlowNet draw by ``K`` steps of
:class:`emily.cognition.polish.EdgeMH`, a kernel that leaves the posterior invariant, so the
draws can only come closer to it. This measures how close, per ``K``, and whether the GFlowNet
matters: the control runs the same kernel for the same ``K`` from the empty graph, so what the
polished draws gain over it is what the trained policy contributes.

Problem family: ``structure_learning.py``'s linear-Gaussian instances (Erdős–Rényi DAGs, about
``d`` edges, weights ±U[0.5, 2], unit noise, raw columns, BGe with DAG-GFlowNet's setting),
seeds drawn afresh unless ``--seed-list`` fixes them, ``n`` in ``--rows``. Per instance, each in
its own one-thread process:

* ours: the default DAG variant trained ``--seconds`` CPU s, ``--samples`` draws, then the polish
  run on them, its E-SHD and AUROC read after each cumulative ``K`` of ``--ks`` (the chain is
  Markov, so ``K = 1000`` read after ``200`` is the same as ``1000`` from the start);
* mcmc: ``StructureMCMC`` (MC³, 4 chains), ``--samples`` graphs within ``--seconds`` CPU s;
* empty: ``--samples`` empty graphs polished for each ``K`` of ``--empty-ks``.

The polish's CPU seconds per ``K`` are reported (``polish_cpu_s``, cumulative, scoring not
included). The last stdout line with ``--json`` is one JSON object: per ``K`` the mean E-SHD and
AUROC of ours and of the empty start, the MCMC's, and every instance.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import structure_learning as sl  # the shared problem family and scoring

HERE = Path(__file__).resolve()


def worker(args: argparse.Namespace) -> None:
    """One method on one instance, in this process; one JSON line to stdout."""
    import torch

    from emily.cognition.envs import DAGHypotheses
    from emily.cognition.polish import EdgeMH
    from emily.cognition.scores import BGeScore

    torch.set_num_threads(1)
    rng = np.random.default_rng([args.seed, args.d, args.n])
    truth = sl.er_dag(args.d, 1.0, rng)
    score = BGeScore(sl.linear_gaussian(truth, args.n, rng))
    clock = sl.ProcessClock()
    out: dict[str, Any] = {"method": args.worker, "seed": args.seed, "d": args.d, "n": args.n}

    def series(adj: np.ndarray, ks: list[int]) -> list[dict[str, Any]]:
        kernel, done, spent, rows = EdgeMH(score, seed=args.seed), 0, 0.0, []
        for k in ks:
            c0 = time.process_time()
            if k > done:
                adj, done = kernel.run(adj, k - done).adjacency, k
            spent += time.process_time() - c0
            rows.append({"k": k, "polish_cpu_s": spent, **sl.score_samples(adj, truth)})
        return rows

    if args.worker == "ours":
        from emily.cognition import GFlowNet
        from emily.cognition.registry import default_variant, variant_config

        env = DAGHypotheses(score)
        config = variant_config(default_variant(env.name), seed=args.seed)
        net = GFlowNet(env, config, clock=clock)
        summary = net.train(seconds=args.seconds, progress=False)
        c0 = time.process_time()
        drawn = net.generate(args.samples).states["adj"].cpu().numpy().astype(bool)
        out.update(steps=summary.steps, train_cpu_s=summary.seconds)
        out.update(draw_cpu_s=time.process_time() - c0, series=series(drawn, args.ks))
    elif args.worker == "empty":
        empty = np.zeros((args.samples, args.d, args.d), dtype=bool)
        out["series"] = series(empty, args.empty_ks)
    else:
        from emily.cognition.mcmc import StructureMCMC

        run = StructureMCMC(score, seed=args.seed, clock=clock).sample(
            args.samples, seconds=args.seconds
        )
        out.update(steps=run.steps, budget_cpu_s=run.seconds)
        out.update(sl.score_samples(np.asarray(run.adjacency, dtype=bool), truth))
    print(json.dumps(out))


def run_one(cmd: list[str]) -> dict[str, Any]:
    env = {**os.environ, **sl.THREADS, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summarise(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    def mean(values: list[float]) -> float:
        return float(np.mean(values))

    out: dict[str, Any] = {"benchmark": "dag_polish", "seeds": args.seed_list}
    mcmc = [r for r in rows if r["method"] == "mcmc"]
    out["mcmc"] = {m: mean([r[m] for r in mcmc]) for m in ("eshd", "auroc", "edges")}
    for method, ks in (("ours", args.ks), ("empty", args.empty_ks)):
        runs = [r for r in rows if r["method"] == method]
        out[method] = {
            str(k): {
                m: mean([r["series"][i][m] for r in runs])
                for m in ("eshd", "auroc", "edges", "polish_cpu_s")
            }
            for i, k in enumerate(ks)
        }
    key = {(r["seed"], r["n"]): r["eshd"] for r in mcmc}
    out["ours_at_least_as_good"] = {
        str(k): sum(
            r["series"][i]["eshd"] <= key[(r["seed"], r["n"])] + sl.TIE
            for r in rows
            if r["method"] == "ours"
        )
        for i, k in enumerate(args.ks)
    }
    out["instances"] = len(mcmc)
    out["conditions"] = {
        "d": args.d, "rows": args.rows, "seconds": args.seconds, "samples": args.samples,
        "threads_per_process": 1, "jobs": args.jobs,
    }  # fmt: skip
    out["rows"] = rows
    return out


def print_table(summary: dict[str, Any]) -> None:
    m, seconds = summary["mcmc"], summary["conditions"]["seconds"]
    print(f"MCMC ({seconds} CPU s): E-SHD {m['eshd']:.2f}, AUROC {m['auroc']:.4f}")
    head = ("K", "ours E-SHD", "AUROC", "polish CPU s", "empty start E-SHD")
    print("  ".join(f"{h:>{w}}" for h, w in zip(head, (6, 10, 7, 12, 17), strict=True)))
    ours, empty = summary["ours"], summary["empty"]
    for k in sorted({*ours, *empty}, key=int):
        o, e = ours.get(k), empty.get(k)
        cells = [
            f"{k:>6}",
            f"{o['eshd']:10.2f}" if o else " " * 10,
            f"{o['auroc']:7.4f}" if o else " " * 7,
            f"{(o or e or {}).get('polish_cpu_s', 0.0):12.2f}",
            f"{e['eshd']:17.2f}" if e else " " * 17,
        ]
        print("  ".join(cells))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", choices=["ours", "mcmc", "empty"], help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument(
        "--quick",
        action="store_true",
        help="defaults d = 8, n = 100, 3 CPU s, 500 draws, K 0 and 100",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.add_argument("--d", type=int, default=20, help="variables (default 20)")
    p.add_argument("--rows", default="100,1000", help="n per instance (default 100,1000)")
    p.add_argument("--seeds", type=int, default=3, help="seeds drawn when --seed-list is not given")
    p.add_argument("--seed-list", help="comma-separated seeds (default: drawn afresh)")
    p.add_argument("--seconds", type=float, default=60.0, help="CPU s for training and MCMC")
    p.add_argument("--samples", type=int, default=10_000, help="draws per method")
    p.add_argument("--ks", default="0,200,1000,3000", help="cumulative polish steps read")
    p.add_argument("--empty-ks", default="1000,3000,6000", help="the empty start's steps")
    p.add_argument("--jobs", type=int, default=2, help="instances run at once")
    if "--quick" in sys.argv:  # smaller defaults; flags given still win
        p.set_defaults(d=8, rows="100", seconds=3.0, samples=500, ks="0,100", empty_ks="100")
    args = p.parse_args()
    args.ks = [int(k) for k in str(args.ks).split(",")]
    args.empty_ks = [int(k) for k in str(args.empty_ks).split(",")]
    if args.ks != sorted(args.ks) or args.empty_ks != sorted(args.empty_ks):
        p.error("--ks and --empty-ks must be ascending (they are read along one chain)")
    args.rows = [int(n) for n in str(args.rows).split(",")]
    if args.seed_list:
        args.seed_list = [int(s) for s in args.seed_list.split(",")]
    else:
        args.seed_list = [random.SystemRandom().randrange(2**31) for _ in range(args.seeds)]
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    base = [sys.executable, str(HERE), "--d", str(args.d), "--seconds", str(args.seconds),
            "--samples", str(args.samples), "--ks", ",".join(map(str, args.ks)),
            "--empty-ks", ",".join(map(str, args.empty_ks))]  # fmt: skip
    cmds = [
        [*base, "--worker", method, "--seed", str(seed), "--n", str(n)]
        for seed in args.seed_list
        for n in args.rows
        for method in ("ours", "mcmc", "empty")
    ]
    sl.log(f"seeds {args.seed_list}; d = {args.d}; n {args.rows}; {len(cmds)} runs")
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = []
        for row in pool.map(run_one, cmds):
            sl.log(f"  {row['method']} seed={row['seed']} n={row['n']}")
            rows.append(row)
    summary = summarise(rows, args)
    print_table(summary)
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
