"""Benchmark: causal-structure hypotheses (DAGs) sampled in proportion to their BGe posterior.

Part 1, synthetic, like for like with the peer in the same run: d = 5 linear-Gaussian data
(100 rows) from a seeded random DAG; BGe score (alpha_mu 1, alpha_w d + 2, uniform prior: the
DAG-GFlowNet setting, and the same formula as torchgfn's scorer). Rows pair one loss on both
sides, each at its own recommended recipe and the same number of trajectories:

* MDB: ours ``mdb`` (registry defaults) against torchgfn's ``ModifiedDBGFlowNet``;
* TB: ours ``v2`` (TB, learned backward policy, annealed ε, replay; our off-policy TB recipe)
  against torchgfn's ``TBGFlowNet``;
* ours ``default_variant("dag")`` (what a user gets) beside them.

torchgfn runs the recipe of its tutorial ``train_bayesian_structure.py`` (the GNN + attention
policy, Adam 1e-4 stepped x0.1 half way, ε 1.0 -> 0.1, replay, batch 32;
``benchmarks/peers/torchgfn_dag.py``) for ``trajectories / 32`` iterations (the tutorial's own
10,000 iterations are 320,000 trajectories: ``--trajectories 320000``); its 100 prefill
iterations sample 3,200 trajectories more. Ours trains for ``trajectories / batch_size`` steps of
its registry defaults, nothing tuned to the budget. Each sampler's exact terminal distribution
over all 29,281 DAGs is compared with the exact posterior: Jensen–Shannon divergence (nats) and
edge-marginal error (the peer's by torchgfn's own BFS tooling, against the posterior under its
own scorer, re-aligned to ours).

Part 2, real data: the Sachs et al. (2005) flow-cytometry table (7,466 cells x 11 proteins, nine
conditions) and its published consensus graph, both shipped inside the PyPI package ``cdt``
(installed without dependencies in the peer venv, only for its data files). By default the 853
observational cells; log-transformed, standardised, BGe. We report the top sampled hypotheses,
their estimated posterior mass and their structural Hamming distance (SHD) to the published graph.

Usage: python benchmarks/gflownet_dag.py [--quick] [--json] [--no-real] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from common import ensure_peer_venv, run_peer

from emily.cognition import GFlowNet, build
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses, structural_hamming_distance
from emily.cognition.exact import ExactEvaluator
from emily.cognition.metrics import edge_marginal_error, jensen_shannon
from emily.cognition.registry import default_variant
from emily.cognition.scores import BGeScore

SACHS_OBSERVATIONAL_ROWS = 853
PEER_BATCH = 32  # the tutorial's sampling batch
# (row label, our variant, torchgfn loss or None)
PAIRS = (("MDB", "mdb", "mdb"), ("TB", "v2", "tb"))


def train_ours(
    env: DAGHypotheses, variant: str, trajectories: int, seed: int
) -> tuple[GFlowNet, float, float]:
    net = build(env, variant, seed=seed)
    steps = max(1, trajectories // net.config.batch_size)
    w0, c0 = time.perf_counter(), time.process_time()
    net.train(steps=steps, progress=False)
    return net, time.perf_counter() - w0, time.process_time() - c0


def synthetic(args: argparse.Namespace) -> dict[str, Any]:
    data, true_adj = synthetic_linear_gaussian(d=5, n=100, seed=args.seed)
    env = DAGHypotheses(BGeScore(data))
    rows: dict[str, dict[str, Any]] = {}
    exact = ExactEvaluator(env)
    target, adj, keys = exact.target, exact.states["adj"], exact.keys
    variants = [(label, v) for label, v, _ in PAIRS] + [("default", default_variant("dag"))]
    for label, variant in variants:
        net, wall, cpu = train_ours(env, variant, args.trajectories, args.seed)
        if not torch.equal(net.exact.keys, keys):
            raise RuntimeError("two enumerations of one space disagree")
        p = net.exact_distribution()
        p = p / p.sum()
        mae, worst = edge_marginal_error(adj, p, target)
        rows[f"ours {label}"] = {
            "variant": variant,
            "jsd": jensen_shannon(p, target),
            "edge_marginal_mae": mae,
            "edge_marginal_max": worst,
            "train_s": wall,
            "train_cpu_s": cpu,
            "trajectories": args.trajectories,
        }
    peers: dict[str, Any] = {}
    if not args.no_peer:
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "data.csv"
            data.to_csv(csv, index=False)
            for label, _, loss in PAIRS:
                dist = Path(tmp) / f"peer_{loss}.npy"
                peer = run_peer(
                    "torchgfn_dag.py",
                    ["--data", str(csv), "--loss", loss, "--iterations",
                     str(max(1, args.trajectories // PEER_BATCH)), "--seed", str(args.seed),
                     "--dist-out", str(dist)],
                )  # fmt: skip
                rows_peer = np.load(dist)
                # Peer distributions, aligned to our sorted keys (edge bitmask i*d + j, as ours).
                bits = torch.tensor(rows_peer[:, 0].astype(np.int64))
                order = torch.searchsorted(keys, bits)
                if not torch.equal(keys[order], bits):
                    raise RuntimeError("peer and ours enumerate different DAG sets")
                q = torch.zeros_like(target)
                q[order] = torch.from_numpy(np.exp(rows_peer[:, 1])).to(q.dtype)
                q = q / q.sum()
                peer_target = torch.zeros_like(target)
                peer_target[order] = torch.from_numpy(np.exp(rows_peer[:, 2])).to(q.dtype)
                mae, worst = edge_marginal_error(adj, q, target)
                rows[f"torchgfn {label}"] = {
                    "jsd": jensen_shannon(q, target),
                    "edge_marginal_mae": mae,
                    "edge_marginal_max": worst,
                    "train_s": peer["train_s"],
                    "train_cpu_s": peer["train_cpu_s"],
                    "trajectories": peer["iterations"] * PEER_BATCH,
                    "trajectories_trained": peer["updates"] * PEER_BATCH,
                    "iterations": peer["iterations"],
                    "recipe": peer["recipe"],
                    "target_agreement_l1": float(
                        (peer_target / peer_target.sum() - target).abs().sum()
                    ),
                }
                peers["version"] = peer["torchgfn_version"]
    return {
        "d": 5,
        "rows": 100,
        "true_edges": int(true_adj.sum()),
        "trajectory_budget": args.trajectories,
        "samplers": rows,
        "peer_version": peers.get("version"),
    }


def sachs_paths() -> tuple[Path, Path]:
    """The Sachs table and published graph shipped in the ``cdt`` wheel (peer venv)."""
    python = ensure_peer_venv()
    code = (
        "import importlib.metadata as m; d = m.distribution('cdt'); "
        "print(d.locate_file('cdt/data/resources/cyto_full_data.csv')); "
        "print(d.locate_file('cdt/data/resources/cyto_full_target.csv'))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    data, target = out.stdout.split()
    return Path(data), Path(target)


def real_data(args: argparse.Namespace) -> dict[str, Any]:
    data_path, target_path = sachs_paths()
    raw = pd.read_csv(data_path)
    if args.sachs_rows == "observational":
        # cdt concatenates the nine conditions of Sachs et al. in their published order and sizes
        # (853, 902, 911, 723, 810, 799, 848, 913, 707 cells); the mean shifts of the table fall
        # on those boundaries. The first 853 cells (anti-CD3/CD28 only) are the observational
        # data set used in the structure-learning literature.
        raw = raw.iloc[:SACHS_OBSERVATIONAL_ROWS]
    logged = np.log(raw.clip(lower=1e-3))
    table = (logged - logged.mean()) / logged.std()
    names = list(table.columns)
    published = np.zeros((len(names), len(names)), dtype=bool)
    for _, row in pd.read_csv(target_path).iterrows():
        published[names.index(row["Cause"]), names.index(row["Effect"])] = True
    env = DAGHypotheses(BGeScore(table))
    variant = default_variant("dag")
    net, wall, cpu = train_ours(env, variant, args.real_trajectories, args.seed)
    samples = net.generate(args.real_samples)
    keys, inverse, counts = torch.unique(samples.keys, return_inverse=True, return_counts=True)
    first = torch.full((keys.numel(),), len(samples), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(len(samples)), "amin")
    log_r = samples.log_reward[first]
    score_mass = torch.softmax(log_r, 0)  # posterior restricted to the distinct sampled graphs
    order = torch.argsort(counts, descending=True)[: args.top]
    top = []
    for k in order.tolist():
        i = int(first[k])
        adj = samples.states["adj"][i].numpy()
        top.append({
            "edges": int(adj.sum()),
            "sample_frequency": int(counts[k]) / len(samples),
            "score_mass_among_sampled": float(score_mass[k]),
            "log_score_vs_empty": float(log_r[k]),
            "shd_to_published": structural_hamming_distance(adj, published),
            "graph": [f"{a}->{b}" for a, b in samples.descriptions[i]],
        })  # fmt: skip
    best = int(torch.argmax(log_r))
    best_adj = samples.states["adj"][int(first[best])].numpy()
    all_adj = samples.states["adj"].numpy()
    shds = [structural_hamming_distance(a, published) for a in all_adj]
    marg = all_adj.mean(0)
    median_graph = marg > 0.5
    return {
        "dataset": "Sachs et al. 2005 flow cytometry (cdt 0.6.0: cyto_full_data.csv)",
        "rows_used": args.sachs_rows,
        "rows": len(table),
        "variables": len(names),
        "variant": variant,
        "published_edges": int(published.sum()),
        "trajectories": args.real_trajectories,
        "train_s": wall,
        "train_cpu_s": cpu,
        "samples": len(samples),
        "distinct_sampled": int(keys.numel()),
        "expected_shd": float(np.mean(shds)),
        "median_graph_shd": structural_hamming_distance(median_graph, published),
        "median_graph_edges": int(median_graph.sum()),
        "empty_graph_shd": structural_hamming_distance(np.zeros_like(published), published),
        "published_graph_is_acyclic": _acyclic(published),
        "best_sampled": {
            "edges": int(best_adj.sum()),
            "sample_frequency": int(counts[best]) / len(samples),
            "log_score_vs_empty": float(log_r[best]),
            "shd_to_published": structural_hamming_distance(best_adj, published),
        },
        "top": top,
    }


def _acyclic(adj: np.ndarray) -> bool:
    reach = adj.copy()
    for k in range(adj.shape[0]):
        reach |= reach[:, [k]] & reach[[k], :]
    return not reach.diagonal().any()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-real", action="store_true", help="skip the real-data part")
    ap.add_argument("--only-real", action="store_true", help="skip the synthetic part")
    ap.add_argument("--no-peer", action="store_true", help="skip torchgfn (synthetic part)")
    ap.add_argument(
        "--sachs-rows",
        choices=["observational", "all"],
        default="observational",
        help="the 853 observational cells, or all 7,466 (nine conditions pooled)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--trajectories",
        type=int,
        default=None,
        help="per sampler (16,000 quick; 96,000; the peer tutorial's own is 320,000)",
    )
    ap.add_argument("--real-trajectories", type=int, default=None)
    ap.add_argument("--real-samples", type=int, default=10_000)
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    if args.trajectories is None:
        args.trajectories = 16_000 if args.quick else 96_000
    if args.real_trajectories is None:
        args.real_trajectories = 16_000 if args.quick else 48_000
    prev = torch.get_num_threads()
    result: dict[str, Any] = {"benchmark": "gflownet_dag"}
    if not args.only_real:
        result.update(synthetic(args))
        for name, row in result["samplers"].items():
            result[name.replace(" ", "_").lower() + "_jsd"] = row["jsd"]
    if not args.no_real:
        result["real"] = real_data(args)
    torch.set_num_threads(prev)
    if args.json or args.only_real:
        print(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"DAG posterior, d=5 BGe, {args.trajectories} trajectories each")
    for col in ("sampler", "JSD to exact", "edge-marginal MAE / max", "train s (wall / CPU)"):
        t.add_column(col)
    for name, row in result["samplers"].items():
        t.add_row(
            name + (f" ({row['variant']})" if "variant" in row else ""),
            f"{row['jsd']:.4f}",
            f"{row['edge_marginal_mae']:.4f} / {row['edge_marginal_max']:.4f}",
            f"{row['train_s']:.1f} / {row['train_cpu_s']:.1f}",
        )
    Console().print(t)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
