"""Benchmark: Bayesian structure learning, our GFlowNet against structure MCMC, the exact posterior,
causal-learn's GES and PC, and torchgfn's DAG-GFlowNet.

Reproduce:
    .venv/bin/python benchmarks/structure_learning.py --json --jobs 2  # full: ~1 h, 2 idle cores
    .venv/bin/python benchmarks/structure_learning.py --quick --json   # ~3 min
(the first run also builds the peer venv, benchmarks/peers/setup_peers.sh: a few minutes;
``--no-peers`` runs ours, the MCMC and the exact posterior only, and skips the discrete family,
whose data pgmpy samples in that venv).

Problem family (seeds drawn afresh by every run unless ``--seed-list`` fixes them; each seed
gives one instance per (d, n)):
* linear-Gaussian: a random Erdős–Rényi DAG over a random order, each pair an edge with
  probability ``2 k / (d - 1)`` (``k = --edges-per-node``, 1: about d edges; redrawn until it has
  at least one), weights ``±U[0.5, 2]`` (random sign), unit Gaussian noise, ``n`` rows, raw and
  unstandardised; d in {5, 20, 50}, n in {100, 1000}. Scored by BGe (alpha_mu 1, alpha_w d + 2,
  uniform prior: DAG-GFlowNet's setting) for ours, the MCMC, the exact posterior and torchgfn;
  GES uses causal-learn's BIC, PC its Fisher-z test (alpha 0.05).
* discrete: ``n = 1000`` rows forward-sampled by pgmpy from a Bayesian network whose BIF ships
  inside the pgmpy wheel (``--networks``: sachs and child; asia in --quick), no network access.
  BDeu (equivalent sample size 1) for ours and the MCMC, GES with causal-learn's BDeu, PC with
  its chi-square test; no torchgfn (it has no discrete score).

Methods, each instance and method in its own subprocess, every process on one thread
(OMP/MKL/OpenBLAS = 1, ``torch.set_num_threads(1)``):
* ours: ``GFlowNet(DAGHypotheses(score), variant_config(default_variant("dag"), seed=s))``, the
  defaults a user gets (``emily train --env dag`` then ``emily sample``), trained for the budget
  ``--seconds-d*`` (``net.train(seconds=...)`` on a clock that reads the process's CPU time, so
  the budget is CPU seconds); then ``--samples`` graphs drawn as ``emily sample`` draws them:
  policy draws, each the start of a chain of an exact edge-focused MH kernel
  (:mod:`emily.cognition.polish`) that keeps a graph every ``--ours-polish-steps`` steps (150
  per variable, ``emily sample``'s default), up to five per chain from at least 1,000 chains
  (``polish.polish_layout``: 10,000 draws are 2,000 chains of five), timed apart ("draw 10k":
  the time to draw and polish 10,000 further samples after training, scaled when fewer). At
  d = 5 its ``jsd`` is the policy's exact one, which bounds the polished draws' (a kernel that
  leaves the posterior invariant cannot raise an f-divergence to it); ``jsd_sampled`` is that of
  the polished samples. ``--ours-correction none`` reports the policy's own draws instead;
  ``mh`` and ``sir`` correct the output exactly within the same budget
  (:mod:`emily.cognition.correction`): they train for ``--ours-train-fraction`` (0.25) of it,
  then ``mh`` runs ``GFlowNetMH`` chains, MC³ local moves plus GFlowNet back-and-forth proposals
  accepted by their trajectory importance weights ``R(x) P_B(tau|x) / P_F(tau)``, started at the
  training's reference chains (``--ours-chains``, 4), and after ``--ours-burn-in-fraction``
  (0.3) of the correction's time keeps ``--samples`` graphs spread over the rest; ``sir``
  importance-resamples GFlowNet draws. Those rows report ``correction``, the GFlowNet moves'
  ``acceptance_rate`` and ``proposals`` (mh) or ``ess`` (sir), ``train_cpu_s`` and
  ``correction_cpu_s`` (their sum is ``budget_cpu_s``); "draw 10k" continues the chains; at
  d = 5 their JSD is that of their samples.
* MCMC: ``StructureMCMC(score, seed=s)`` (MC³, 4 chains, its default burn-in) with
  ``sample(--samples, seconds=<the same CPU budget>)``; then ``sample`` again continues the
  chains at the default thinning to time further draws (10,000 at d <= 20, 1,000 at d = 50,
  scaled to 10,000).
* exact (d = 5): ``ExactEvaluator`` over all 29,281 DAGs, the posterior itself.
* GES and PC: causal-learn in the peer venv, run to completion (time reported). Their graph is a
  CPDAG: edge probability 1 for ``i -> j``, 1/2 per direction for an undirected (or conflicting)
  edge; E-SHD is then the expected SHD with each undirected edge oriented by a coin flip.
* torchgfn: ``ModifiedDBGFlowNet`` with the recipe of torchgfn's Bayesian-structure tutorial
  (its GNN + attention policy, Adam 1e-4 stepped x0.1 half way, ε 1.0 -> 0.1, replay 100k,
  batch 32, 10,000 iterations), capped at the same CPU budget as ours (the output says how many
  iterations it reached); continuous family only; ``--no-torchgfn`` skips it.

Metrics per instance and method: E-SHD (posterior mean SHD to the true DAG; reversal = 1),
edge-marginal AUROC against the true directed edges, expected number of edges, at d = 5 the
Jensen–Shannon divergence (nats) to the exact posterior (ours: its exact terminal distribution;
MCMC and torchgfn: the empirical distribution of their samples, so it carries sampling noise; ours
sampled is reported beside it), CPU seconds of the budgeted part, CPU seconds of the whole
process, and peak RSS (``wait4``'s ``ru_maxrss`` of the process; ours at d = 5 includes the
exact enumeration used for JSD). Spread over seeds: mean, sd, min, max.

Goals it reports as met or unmet: d = 5 mean JSD <= 0.05 and edge AUROC within 0.02 of the exact
posterior's; d = 20 and 50 E-SHD <= and AUROC >= the MCMC's at the same CPU budget (on the means
over seeds and n); and ours' time to draw 10,000 further samples against the MCMC's. Beside
the goals, ``ours_minus_mcmc`` gives the paired difference per instance at d = 20 and 50 (mean
and standard error over instances, E-SHD and AUROC): two right samplers differ by noise, and the
strict comparison of means then falls either way.

Progress goes to stderr (a line per instance), the table to stdout; with ``--json`` the last
stdout line is one JSON object (``jsd_d5_mean``, ``auroc_d5_exact``, ``auroc_d5_ours``,
``eshd_d20_ours``, ``eshd_d20_mcmc``, ``auroc_d20_ours``, ``auroc_d20_mcmc``, ``peak_rss_mb_d50``,
``seeds``, the goals, the spreads and every instance).

Usage: python benchmarks/structure_learning.py [--quick] [--json] [--no-peers] [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from common import PEER_PYTHON, ROOT, ensure_peer_venv

HERE = Path(__file__).resolve()
THREADS = dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), "1")
PEERS = ROOT / "benchmarks" / "peers"
CONTINUOUS = "linear-gaussian"
METHODS = ("exact", "ours", "mcmc", "torchgfn", "ges", "pc")
JSD_GOAL, AUROC_GAP_GOAL = 0.05, 0.02
TIE = 1e-9
"""Figures this close are equal: means summed in another order differ in the last digits (two
AUROCs equal to 15 digits once read as a loss)."""
FURTHER = 10_000
WORKER_FIELDS = ("budget_cpu_s", "budget_wall_s", "draw_cpu_s", "draw_samples", "steps",
                 "variant", "acceptance_rate", "peak_rss_mb_before_eval", "correction",
                 "local_acceptance", "proposals", "rounds", "ess", "train_cpu_s",
                 "correction_cpu_s", "polish_steps", "overrides")  # fmt: skip


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- worker (ours)
class ProcessClock:
    """CPU seconds of this process as the samplers' clock: their ``seconds`` budget is CPU time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.process_time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def adjacency_keys(adj: np.ndarray) -> np.ndarray:
    """Edge bitmask ``sum 2^(i d + j)`` of each ``[n, d, d]`` graph (d <= 7)."""
    n, d, _ = adj.shape
    weights = np.left_shift(np.int64(1), np.arange(d * d, dtype=np.int64))
    return np.asarray(adj.reshape(n, d * d).astype(np.int64) @ weights, dtype=np.int64)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs of ``--ours-set`` as config overrides (VALUE as JSON, else text), so
    a sweep can change any field of ours' variant without a flag per field."""
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--ours-set {item!r}: expected FIELD=VALUE, e.g. batch_size=64")
        try:
            overrides[name] = json.loads(text)
        except json.JSONDecodeError:
            overrides[name] = text
    return overrides


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory (``VmHWM``) of a live process, in MB.

    Not ``ru_maxrss``: Linux carries the parent's peak into a child at ``exec``, so a child of
    this (torch-importing) benchmark would report at least the benchmark's own footprint.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def ours_worker(
    args: argparse.Namespace, score: Any, d: int, arrays: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Ours: train the default DAG GFlowNet, then (``--ours-correction``) correct its output
    exactly, training and correction together on one CPU budget ``--seconds``.

    ``none`` (default): the raw sampler trained for the whole budget, as ``emily train`` gives
    it. ``mh``: train for ``--ours-train-fraction`` of the budget, then run
    :class:`~emily.cognition.correction.GFlowNetMH` chains (MC³ local moves + GFlowNet
    back-and-forth proposals, exact by construction) started at the training's reference chains,
    for the rest. ``sir``: importance-resample GFlowNet draws made in the rest.
    """
    from emily.cognition import GFlowNet
    from emily.cognition.correction import GFlowNetMH, importance_resample
    from emily.cognition.envs import DAGHypotheses
    from emily.cognition.registry import default_variant, variant_config

    env = DAGHypotheses(score)
    variant = default_variant(env.name)
    clock = ProcessClock()
    overrides: dict[str, Any] = {"seed": args.seed}
    if args.ours_reference_likelihood is not None:
        overrides["reference_likelihood"] = args.ours_reference_likelihood
    swept = parse_overrides(args.ours_set)
    overrides.update(swept)
    net = GFlowNet(env, variant_config(variant, **overrides), clock=clock)
    mode = args.ours_correction
    share = 1.0 if mode in ("none", "polish") else args.ours_train_fraction
    w0, c0 = time.perf_counter(), clock.monotonic()
    summary = net.train(seconds=args.seconds * share, progress=False)
    out: dict[str, Any] = {"variant": variant, "correction": mode, "steps": summary.steps}
    out["overrides"] = swept
    out.update(trajectories=summary.trajectories, train_cpu_s=summary.seconds)
    left = max(0.0, args.seconds - (clock.monotonic() - c0))
    if mode == "mh":
        mh = GFlowNetMH.from_reference(net, chains=args.ours_chains, seed=args.seed)
        burn = args.ours_burn_in_fraction * left  # the chains climb on from training's states
        mh.sample(1, seconds=burn)
        run = mh.sample(args.samples, seconds=max(0.0, args.seconds - (clock.monotonic() - c0)))
        arrays["adjacency"] = run.adjacency
        out.update(acceptance_rate=run.acceptance_rate, local_acceptance=run.local_acceptance)
        out.update(proposals=run.proposals, rounds=run.rounds, chains=args.ours_chains)
    elif mode == "sir":
        res = importance_resample(net, 10**9, args.samples, seed=args.seed, seconds=left)
        arrays["adjacency"] = res.adjacency
        out.update(ess=res.ess, proposals=res.proposals)
    out.update(budget_wall_s=time.perf_counter() - w0, budget_cpu_s=clock.monotonic() - c0)
    out["correction_cpu_s"] = out["budget_cpu_s"] - summary.seconds
    w0, c0 = time.perf_counter(), clock.monotonic()
    if mode == "mh":
        further = FURTHER if d <= 20 else FURTHER // 10
        mh.sample(further)
    elif mode == "sir":
        further = args.samples
        importance_resample(net, further, further, seed=args.seed + 1)
    elif mode == "polish":
        from emily.cognition.polish import EdgeMH, default_polish_steps, polish_layout

        further = args.samples
        steps = args.ours_polish_steps
        steps = default_polish_steps(d) if steps is None else steps
        chains, keep = polish_layout(further)  # as `emily sample` draws them
        drawn = net.generate(chains).states["adj"].cpu().numpy().astype(bool)
        polished = EdgeMH(score, seed=args.seed).run(drawn, steps, keep=keep)
        arrays["adjacency"] = polished.adjacency[:further]
        out.update(acceptance_rate=polished.acceptance, polish_steps=polished.steps)
        out.update(polish_chains=chains, polish_keep=keep)
    else:
        further = args.samples
        arrays["adjacency"] = net.generate(further).states["adj"].cpu().numpy().astype(bool)
    out.update(draw_wall_s=time.perf_counter() - w0, draw_cpu_s=clock.monotonic() - c0)
    out["draw_samples"] = further
    out["peak_rss_mb_before_eval"] = vm_hwm_mb()
    # The policy's exact distribution. Polished, its JSD bounds the draws' (a kernel that
    # leaves the posterior invariant cannot raise an f-divergence to it); corrected: sampled.
    if d <= 5 and mode in ("none", "polish"):
        p = net.exact_distribution().double().cpu()
        arrays["dist_keys"] = adjacency_keys(net.exact.states["adj"].cpu().numpy())
        arrays["dist_probs"] = (p / p.sum()).numpy()
    return out


def worker(args: argparse.Namespace) -> None:
    """One method on one data table (in its own process); arrays to ``--out``, JSON to stdout."""
    import torch

    from emily.cognition.envs import DAGHypotheses
    from emily.cognition.scores import BDeuScore, BGeScore

    torch.set_num_threads(1)
    frame = pd.read_csv(args.data)
    score = BGeScore(frame) if args.score == "bge" else BDeuScore(frame)
    d = score.n_nodes
    out: dict[str, Any] = {"method": args.worker}
    arrays: dict[str, np.ndarray] = {}
    if args.worker == "ours":
        out.update(ours_worker(args, score, d, arrays))
    elif args.worker == "mcmc":
        from emily.cognition.mcmc import StructureMCMC

        mcmc = StructureMCMC(score, seed=args.seed, clock=ProcessClock())
        w0 = time.perf_counter()
        run = mcmc.sample(args.samples, seconds=args.seconds)
        out.update(budget_wall_s=time.perf_counter() - w0, budget_cpu_s=run.seconds)
        out.update(steps=run.steps, acceptance_rate=run.acceptance_rate, chains=mcmc.n_chains)
        arrays["adjacency"] = np.asarray(run.adjacency, dtype=bool)
        further = FURTHER if d <= 20 else FURTHER // 10
        w0 = time.perf_counter()
        more = mcmc.sample(further)
        out.update(draw_wall_s=time.perf_counter() - w0, draw_cpu_s=more.seconds)
        out.update(draw_samples=further, draw_steps=more.steps)
    elif args.worker == "exact":
        from emily.cognition.exact import ExactEvaluator

        w0, c0 = time.perf_counter(), time.process_time()
        exact = ExactEvaluator(DAGHypotheses(score))
        target = exact.target.double().cpu()
        out.update(budget_wall_s=time.perf_counter() - w0, budget_cpu_s=time.process_time() - c0)
        adj = exact.states["adj"].cpu().numpy().astype(bool)
        arrays.update(dist_adj=adj, dist_keys=adjacency_keys(adj), dist_probs=target.numpy())
    else:
        raise SystemExit(f"unknown worker {args.worker!r}")
    out["peak_rss_mb"] = vm_hwm_mb()
    np.savez_compressed(args.out, **arrays)  # type: ignore[arg-type]
    print(json.dumps(out))


# ----------------------------------------------------------------------------- processes
@dataclass
class Run:
    """One finished subprocess: its JSON line, resources and failure (if any)."""

    result: dict[str, Any] | None
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    error: str | None = None


def run_measured(cmd: list[str], timeout: float, peer: bool = False) -> Run:
    """Run ``cmd`` alone. CPU time: ``wait4`` on exactly that child. Peak RSS: its ``VmHWM``,
    as the child reports it last (``peak_rss_mb``) or as polled here, whichever is larger."""
    env = {**os.environ, **THREADS, "PYTHONHASHSEED": "0"}
    if peer:
        env.pop("PYTHONPATH", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        w0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        timed_out, peak = False, 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, vm_hwm_mb(proc.pid) or 0.0)
            if time.perf_counter() - w0 > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - w0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    cpu = usage.ru_utime + usage.ru_stime
    result = json.loads(lines[-1]) if lines else None
    rss = max(peak, float((result or {}).get("peak_rss_mb") or 0.0))
    if timed_out:
        return Run(None, wall, cpu, rss, f"timed out after {timeout:.0f} s")
    if proc.returncode != 0 or not lines:
        tail = (stderr or stdout).strip().splitlines()[-3:]
        return Run(None, wall, cpu, rss, f"rc {proc.returncode}: {' | '.join(tail)[-400:]}")
    return Run(result, wall, cpu, rss)


# ----------------------------------------------------------------------------- instances
@dataclass
class Instance:
    family: str
    d: int
    n: int
    seed: int
    data: Path
    truth: np.ndarray
    score: str  # "bge" | "bdeu"
    budget: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "continuous" if self.score == "bge" else "discrete"

    @property
    def label(self) -> str:
        return f"{self.family} d={self.d} n={self.n} seed={self.seed}"


def er_dag(d: int, edges_per_node: float, rng: np.random.Generator) -> np.ndarray:
    """Erdős–Rényi DAG: a random order, each forward pair an edge with p = 2k / (d - 1)."""
    p = min(1.0, 2 * edges_per_node / (d - 1))
    while True:
        order = rng.permutation(d)
        upper = np.triu(rng.random((d, d)) < p, 1)
        adj = np.zeros((d, d), dtype=bool)
        adj[np.ix_(order, order)] = upper
        if adj.any():
            return adj


def linear_gaussian(adj: np.ndarray, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``x_j = sum_i w_ij x_i + e_j``, ``w = ±U[0.5, 2]``, ``e ~ N(0, 1)``; raw, unstandardised."""
    d = adj.shape[0]
    w = np.where(adj, rng.choice([-1.0, 1.0], (d, d)) * rng.uniform(0.5, 2.0, (d, d)), 0.0)
    x = np.zeros((n, d))
    done = np.zeros(d, dtype=bool)
    while not done.all():  # topological order
        for j in np.flatnonzero(~done & ~(adj & ~done[:, None]).any(0)):
            x[:, j] = x @ w[:, j] + rng.normal(size=n)
            done[j] = True
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(d)])


def continuous_instances(args: argparse.Namespace, tmp: Path) -> list[Instance]:
    out = []
    for seed in args.seed_list:
        for d in args.dims:
            for n in args.rows:
                rng = np.random.default_rng([seed, d, n])
                truth = er_dag(d, args.edges_per_node, rng)
                path = tmp / f"lg-d{d}-n{n}-s{seed}.csv"
                linear_gaussian(truth, n, rng).to_csv(path, index=False)
                budget = args.budgets[d]
                out.append(Instance(CONTINUOUS, d, n, seed, path, truth, "bge", budget))
    return out


def discrete_instance(network: str, seed: int, args: argparse.Namespace, tmp: Path) -> Instance:
    path = tmp / f"{network}-s{seed}.csv"
    cmd = [str(PEER_PYTHON), str(PEERS / "pgmpy_sample.py"), "--network", network,
           "--rows", str(args.discrete_rows), "--seed", str(seed), "--out", str(path)]  # fmt: skip
    run = run_measured(cmd, 600, peer=True)
    if run.result is None:
        raise RuntimeError(f"pgmpy could not sample {network}: {run.error}")
    info = run.result
    d = len(info["columns"])
    truth = np.zeros((d, d), dtype=bool)
    for i, j in info["edges"]:
        truth[i, j] = True
    keep = {k: info[k] for k in ("bif", "pgmpy_version", "arity", "observed_arity")}
    return Instance(network, d, args.discrete_rows, seed, path, truth, "bdeu",
                    args.seconds_discrete, keep)  # fmt: skip


# ----------------------------------------------------------------------------- scoring
def score_samples(adj: np.ndarray, truth: np.ndarray, weights: Any = None) -> dict[str, float]:
    from emily.cognition.posterior import edge_auroc, edge_marginals, expected_shd

    marg = edge_marginals(adj, weights)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    edges = adj.sum(axis=(1, 2)).astype(np.float64)
    return {
        "eshd": expected_shd(adj, truth, weights),
        "auroc": edge_auroc(marg, truth),
        "edges": float(edges.mean() if w is None else np.dot(w / w.sum(), edges)),
    }


def score_cpdag(result: dict[str, Any], truth: np.ndarray) -> dict[str, float]:
    """Metrics of a point estimate: P(i -> j) = 1 directed, 1/2 each way undirected/conflicting.

    E-SHD treats pairs independently (exact for coin-flipped undirected edges): per unordered
    pair, 1 - P(the estimate's state there is the truth's: none, i -> j or j -> i).
    """
    from emily.cognition.posterior import edge_auroc

    d = truth.shape[0]
    m = np.zeros((d, d))
    for i, j in result["directed"]:
        m[i, j] = 1.0
    for i, j in result["undirected"] + result["bidirected"]:
        m[i, j] = m[j, i] = 0.5
    iu, ju = np.triu_indices(d, 1)
    p_none = 1.0 - m[iu, ju] - m[ju, iu]
    match = np.where(truth[iu, ju], m[iu, ju], np.where(truth[ju, iu], m[ju, iu], p_none))
    return {
        "eshd": float((1.0 - match).sum()),
        "auroc": edge_auroc(m, truth),
        "edges": float(m.sum()),
    }


def jsd_to_exact(exact: dict[str, np.ndarray], keys: np.ndarray, probs: np.ndarray) -> float:
    """Jensen–Shannon divergence (nats) of ``probs`` over ``keys`` to the exact posterior."""
    import torch

    from emily.cognition.metrics import jensen_shannon

    idx = np.searchsorted(exact["dist_keys"], keys)
    idx = np.clip(idx, 0, len(exact["dist_keys"]) - 1)
    if not np.array_equal(exact["dist_keys"][idx], keys):
        raise RuntimeError("a distribution holds a graph the exact enumeration does not")
    q = np.zeros(len(exact["dist_keys"]))
    np.add.at(q, idx, probs)
    p = exact["dist_probs"]
    return jensen_shannon(torch.from_numpy(q / q.sum()), torch.from_numpy(p / p.sum()))


def empirical_jsd(exact: dict[str, np.ndarray], adj: np.ndarray) -> float:
    keys, counts = np.unique(adjacency_keys(adj), return_counts=True)
    return jsd_to_exact(exact, keys, counts / counts.sum())


# ----------------------------------------------------------------------------- one instance
def evaluate(inst: Instance, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    exact: dict[str, np.ndarray] | None = None
    slack = 4 * inst.budget + args.timeout

    def ours_cmd(method: str, out: Path) -> list[str]:
        likelihood = args.ours_reference_likelihood
        extra = [] if likelihood is None else ["--ours-reference-likelihood", str(likelihood)]
        extra += [f"--ours-set={item}" for item in args.ours_set]
        if args.ours_polish_steps is not None:
            extra += ["--ours-polish-steps", str(args.ours_polish_steps)]
        return [sys.executable, str(HERE), "--worker", method, "--data", str(inst.data),
                "--score", inst.score, "--seconds", str(inst.budget), "--samples",
                str(args.samples), "--seed", str(inst.seed), "--out", str(out),
                "--ours-correction", args.ours_correction, "--ours-train-fraction",
                str(args.ours_train_fraction), "--ours-chains", str(args.ours_chains),
                "--ours-burn-in-fraction", str(args.ours_burn_in_fraction),
                *extra]  # fmt: skip

    methods = [m for m in METHODS if m in args.methods]
    if inst.d > 5 or inst.kind == "discrete":
        methods = [m for m in methods if m != "exact"]
    if inst.kind == "discrete" or inst.d not in args.torchgfn_dims:
        methods = [m for m in methods if m != "torchgfn"]
    for method in methods:
        base = {"family": inst.family, "d": inst.d, "n": inst.n, "seed": inst.seed,
                "method": method, "true_edges": int(inst.truth.sum())}  # fmt: skip
        out = tmp / f"{inst.family}-{inst.d}-{inst.n}-{inst.seed}-{method}.npz"
        if method in ("exact", "ours", "mcmc"):
            run = run_measured(ours_cmd(method, out), slack)
        elif method == "torchgfn":
            samples = tmp / f"{out.stem}-samples.npy"
            cmd = [str(PEER_PYTHON), str(PEERS / "torchgfn_dag.py"), "--data", str(inst.data),
                   "--loss", "mdb", "--seconds", str(inst.budget), "--samples", str(args.samples),
                   "--samples-out", str(samples), "--seed", str(inst.seed)]  # fmt: skip
            run = run_measured(cmd, slack + 600, peer=True)
        else:
            cmd = [str(PEER_PYTHON), str(PEERS / "causallearn_structure.py"), "--data",
                   str(inst.data), "--method", method, "--kind", inst.kind]  # fmt: skip
            run = run_measured(cmd, args.peer_timeout, peer=True)
        row = {**base, "process_cpu_s": run.cpu_s, "process_wall_s": run.wall_s,
               "peak_rss_mb": run.peak_rss_mb}  # fmt: skip
        if run.result is None:
            row["error"] = run.error
            log(f"  {method} failed on {inst.label}: {run.error}")
            rows.append(row)
            continue
        res = run.result
        try:
            if method in ("ges", "pc"):
                row.update(score_cpdag(res, inst.truth))
                row.update(budget_cpu_s=res["cpu_s"], budget_wall_s=res["seconds"])
                row["recipe"] = res["recipe"]
            elif method == "torchgfn":
                adj = np.load(samples)
                row.update(score_samples(adj, inst.truth))
                row.update(budget_cpu_s=res["train_cpu_s"], budget_wall_s=res["train_s"])
                row.update(draw_cpu_s=res["sample_cpu_s"], draw_samples=res["samples"])
                for k in ("iterations", "iterations_planned", "updates", "capped", "recipe"):
                    row[k] = res[k]
                if exact is not None:
                    row["jsd_sampled"] = empirical_jsd(exact, adj)
            else:
                arrays = dict(np.load(out))
                row.update({k: res[k] for k in WORKER_FIELDS if k in res})
                if method == "exact":
                    exact = arrays
                    row.update(score_samples(arrays["dist_adj"], inst.truth, arrays["dist_probs"]))
                    row["jsd"] = 0.0
                else:
                    row.update(score_samples(arrays["adjacency"], inst.truth))
                    if exact is not None:
                        row["jsd_sampled"] = empirical_jsd(exact, arrays["adjacency"])
                        if "dist_keys" in arrays:
                            row["jsd"] = jsd_to_exact(
                                exact, arrays["dist_keys"], arrays["dist_probs"]
                            )
                        else:
                            row["jsd"] = row["jsd_sampled"]
            if row.get("draw_cpu_s") is not None and row.get("draw_samples"):
                row["draw_10k_cpu_s"] = row["draw_cpu_s"] * FURTHER / row["draw_samples"]
        except Exception as exc:  # a malformed output is a failed run, not a crashed benchmark
            row["error"] = f"scoring failed: {type(exc).__name__}: {exc}"
            log(f"  {method} on {inst.label}: {row['error']}")
        rows.append(row)
    parts = []
    for r in rows:
        if "error" in r:
            parts.append(f"{r['method']} failed")
            continue
        jsd = f" jsd {r['jsd']:.3f}" if "jsd" in r else ""
        parts.append(f"{r['method']} eshd {r['eshd']:.1f} auroc {r['auroc']:.3f}{jsd}")
    log(f"{inst.label} ({int(inst.truth.sum())} edges): " + "; ".join(parts))
    return rows


# ----------------------------------------------------------------------------- summaries
def spread(values: list[Any]) -> dict[str, float] | None:
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    if not v:
        return None
    a = np.array(v)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max()), "n": len(a)}  # fmt: skip


METRICS = ("eshd", "auroc", "edges", "jsd", "jsd_sampled", "budget_cpu_s", "process_cpu_s",
           "draw_10k_cpu_s", "peak_rss_mb")  # fmt: skip


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, int, int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["d"], r["n"], r["method"])].append(r)
    out: dict[str, Any] = {}
    for (family, d, n, method), rs in sorted(groups.items()):
        ok = [r for r in rs if "error" not in r]
        cell = {m: spread([r.get(m) for r in ok]) for m in METRICS}
        cell["failures"] = len(rs) - len(ok)
        if method == "torchgfn" and ok:
            cell["iterations"] = spread([r["iterations"] for r in ok])
            cell["capped"] = sum(bool(r["capped"]) for r in ok)
        out.setdefault(family, {}).setdefault(f"d{d}", {}).setdefault(f"n{n}", {})[method] = cell
    return out


def pooled(rows: list[dict[str, Any]], d: int, method: str, metric: str) -> dict[str, float] | None:
    """Spread of ``metric`` over every continuous instance of dimension ``d`` (all n, seeds)."""
    keep = [r for r in rows if r["family"] == CONTINUOUS and r["d"] == d and "error" not in r]
    return spread([r.get(metric) for r in keep if r["method"] == method])


def mean(s: dict[str, float] | None) -> float | None:
    return None if s is None else s["mean"]


def paired(rows: list[dict[str, Any]], d: int, metric: str) -> list[tuple[float, float]]:
    """``(ours, mcmc)`` values of ``metric`` per continuous instance at ``d`` where both ran."""
    by: dict[tuple[Any, ...], dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["family"] == CONTINUOUS and r["d"] == d and "error" not in r:
            by[(r["n"], r["seed"])][r["method"]] = r[metric]
    return [(v["ours"], v["mcmc"]) for v in by.values() if "ours" in v and "mcmc" in v]


def paired_wins(rows: list[dict[str, Any]], d: int, metric: str, better: str) -> str | None:
    """How many instances ours beat or tied the MCMC on ``metric`` (``better``: lower/higher)."""
    pairs = paired(rows, d, metric)
    if not pairs:
        return None
    wins = sum(a <= b + TIE if better == "lower" else a >= b - TIE for a, b in pairs)
    return f"{wins}/{len(pairs)}"


def paired_difference(rows: list[dict[str, Any]], d: int, metric: str) -> dict[str, Any] | None:
    """Mean of ``ours - mcmc`` over the instances and its standard error (sd / sqrt(k)).

    Why: two samplers that are both right differ only by noise, and a strict comparison of
    means then falls either way; the difference beside its standard error says whether one is
    systematically ahead. Reported, not a goal.
    """
    diffs = np.array([a - b for a, b in paired(rows, d, metric)])
    if diffs.size == 0:
        return None
    se = float(diffs.std(ddof=1) / np.sqrt(diffs.size)) if diffs.size > 1 else None
    return {"mean": float(diffs.mean()), "se": se, "n": int(diffs.size)}


def headline(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    h: dict[str, Any] = {"benchmark": "structure_learning", "quick": args.quick,
                         "seeds": args.seed_list}  # fmt: skip
    jsd = pooled(rows, 5, "ours", "jsd")
    h["jsd_d5_mean"] = mean(jsd)
    h["jsd_d5_spread"] = jsd
    h["auroc_d5_exact"] = mean(pooled(rows, 5, "exact", "auroc"))
    h["auroc_d5_ours"] = mean(pooled(rows, 5, "ours", "auroc"))
    h["eshd_d5_exact"] = mean(pooled(rows, 5, "exact", "eshd"))
    h["eshd_d5_ours"] = mean(pooled(rows, 5, "ours", "eshd"))
    for d in (20, 50):
        for metric in ("eshd", "auroc"):
            for method in ("ours", "mcmc"):
                h[f"{metric}_d{d}_{method}"] = mean(pooled(rows, d, method, metric))
    rss = pooled(rows, 50, "ours", "peak_rss_mb")
    h["peak_rss_mb_d50"] = mean(rss)
    h["ours_correction"] = args.ours_correction
    h["ours_acceptance_rate_by_d"] = {  # GFlowNet moves accepted (mh)
        f"d{d}": mean(pooled(rows, d, "ours", "acceptance_rate")) for d in args.dims
    }
    h["ours_ess_by_d"] = {f"d{d}": mean(pooled(rows, d, "ours", "ess")) for d in args.dims}
    h["peak_rss_mb_d50_by_method"] = {
        m: mean(pooled(rows, 50, m, "peak_rss_mb")) for m in METHODS if m != "exact"
    }
    h["draw_10k_cpu_s"] = {
        f"d{d}": {m: mean(pooled(rows, d, m, "draw_10k_cpu_s")) for m in ("ours", "mcmc")}
        for d in args.dims
    }
    h["ours_minus_mcmc"] = {
        f"d{d}": {m: paired_difference(rows, d, m) for m in ("eshd", "auroc")} for d in (20, 50)
    }
    goals: dict[str, Any] = {}
    if h["jsd_d5_mean"] is not None:
        goals["d5_jsd_mean_le_0.05"] = h["jsd_d5_mean"] <= JSD_GOAL
    if h["auroc_d5_ours"] is not None and h["auroc_d5_exact"] is not None:
        gap = h["auroc_d5_exact"] - h["auroc_d5_ours"]
        h["auroc_d5_gap"] = gap
        goals["d5_auroc_within_0.02_of_exact"] = abs(gap) <= AUROC_GAP_GOAL
    for d in (20, 50):
        e_o, e_m = h[f"eshd_d{d}_ours"], h[f"eshd_d{d}_mcmc"]
        a_o, a_m = h[f"auroc_d{d}_ours"], h[f"auroc_d{d}_mcmc"]
        if None not in (e_o, e_m, a_o, a_m):
            goals[f"d{d}_eshd_le_mcmc"] = e_o <= e_m + TIE
            goals[f"d{d}_auroc_ge_mcmc"] = a_o >= a_m - TIE
            goals[f"d{d}_instances_eshd_le_mcmc"] = paired_wins(rows, d, "eshd", "lower")
            goals[f"d{d}_instances_auroc_ge_mcmc"] = paired_wins(rows, d, "auroc", "higher")
    for d, cell in h["draw_10k_cpu_s"].items():
        if cell["ours"] is not None and cell["mcmc"] is not None:
            goals[f"{d}_draw_10k_faster_than_mcmc"] = cell["ours"] < cell["mcmc"]
            cell["mcmc_over_ours"] = cell["mcmc"] / cell["ours"] if cell["ours"] else None
    h["goals"] = goals
    return h


def fmt(s: dict[str, float] | None, digits: int = 2) -> str:
    if s is None:
        return "-"
    if s["n"] == 1 or s["min"] == s["max"]:
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} [{s['min']:.{digits}f}, {s['max']:.{digits}f}]"


def print_table(summary: dict[str, Any], budgets: dict[str, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    title = "Structure learning: mean \\[min, max] over seeds; CPU seconds, one thread each"
    t = Table(title=title)
    for col in ("family", "d", "n", "method", "E-SHD", "AUROC", "JSD (d=5)", "edges",
                "budget CPU s", "process CPU s", "draw 10k CPU s", "peak MB"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("family", "method") else "right")
    for family, by_d in summary.items():
        for dk, by_n in by_d.items():
            for nk, by_m in by_n.items():
                for method in METHODS:
                    c = by_m.get(method)
                    if c is None:
                        continue
                    name = method + (f" ({c['failures']} failed)" if c["failures"] else "")
                    t.add_row(family, dk[1:], nk[1:], name, fmt(c["eshd"], 1), fmt(c["auroc"], 3),
                              fmt(c["jsd"], 3), fmt(c["edges"], 1), fmt(c["budget_cpu_s"], 1),
                              fmt(c["process_cpu_s"], 1), fmt(c["draw_10k_cpu_s"], 1),
                              fmt(c["peak_rss_mb"], 0))  # fmt: skip
    Console(width=200).print(t)
    print(f"budgets (CPU s, ours = MCMC = torchgfn cap): {budgets}")


# ----------------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="d 5, 20, n 100, 2 seeds, tiny budgets")
    p.add_argument("--json", action="store_true", help="print every figure as one JSON line, last")
    p.add_argument("--seeds", type=int, help="how many seeds to draw (2 quick, 3)")
    p.add_argument("--seed-list", type=str, help="comma-separated seeds instead of drawing them")
    p.add_argument("--dims", type=str, help="comma-separated d (5,20 quick; 5,20,50)")
    p.add_argument("--rows", type=str, help="comma-separated n (100 quick; 100,1000)")
    p.add_argument("--edges-per-node", type=float, default=1.0)
    p.add_argument("--seconds-d5", type=float, help="CPU budget at d=5 (3 quick, 30)")
    p.add_argument("--seconds-d20", type=float, help="CPU budget at d=20 (4 quick, 60)")
    p.add_argument("--seconds-d50", type=float, help="CPU budget at d=50 (120)")
    p.add_argument("--seconds-discrete", type=float, help="CPU budget, discrete (4 quick, 60)")
    p.add_argument("--samples", type=int, help="graphs drawn per method (300 quick, 10000)")
    p.add_argument("--networks", type=str, help="pgmpy networks (asia quick; sachs,child)")
    p.add_argument("--discrete-rows", type=int, default=1000)
    p.add_argument("--discrete-seeds", type=int, help="seeds of the discrete family (1 quick)")
    p.add_argument("--methods", type=str, default=",".join(METHODS))
    p.add_argument("--no-peers", action="store_true", help="skip GES, PC, torchgfn and discrete")
    p.add_argument("--no-torchgfn", action="store_true")
    p.add_argument("--torchgfn-dims", type=str, help="d torchgfn runs at (5 quick; all)")
    p.add_argument("--no-discrete", action="store_true")
    p.add_argument("--jobs", type=int, default=1, help="instances run at once (one per core)")
    p.add_argument("--timeout", type=float, default=600, help="slack over 4x budget, per run")
    p.add_argument("--peer-timeout", type=float, default=1800, help="GES/PC per run")
    p.add_argument(
        "--ours-correction",
        choices=["none", "mh", "sir", "polish"],
        default="polish",
        help="ours' exact correction: polish (default, the user's sampler, as `emily sample` "
        "draws: each policy draw then --ours-polish-steps edge-focused MH steps, timed as "
        "drawing), none (the policy's own draws), GFlowNet-MH or SIR",
    )
    p.add_argument(
        "--ours-polish-steps",
        type=int,
        default=None,
        help="edge-focused MH steps per GFlowNet draw (polish; default 150 per variable, "
        "as `emily sample`)",
    )
    p.add_argument(
        "--ours-train-fraction",
        type=float,
        default=0.25,
        help="share of ours' budget spent training before the correction",
    )
    p.add_argument("--ours-chains", type=int, default=4, help="GFlowNet-MH chains")
    p.add_argument(
        "--ours-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one GFlowNetConfig field of ours' variant (repeatable; VALUE read as "
        "JSON, else as text), e.g. --ours-set batch_size=64",
    )
    p.add_argument(
        "--ours-reference-likelihood",
        type=float,
        default=None,
        help="weight of the reference paths' likelihood in ours' loss (default: the variant's)",
    )
    p.add_argument(
        "--ours-burn-in-fraction",
        type=float,
        default=0.3,
        help="share of the correction's time whose graphs are not kept (mh)",
    )
    # worker mode (internal): one method on one table
    p.add_argument("--worker", choices=["ours", "mcmc", "exact"], help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--score", choices=["bge", "bdeu"], help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return a
    q = a.quick

    def ints(text: str | None, default: str) -> list[int]:
        return [int(x) for x in (text or default).split(",") if x]

    n_seeds = a.seeds or (2 if q else 3)
    if a.seed_list:
        a.seed_list = ints(a.seed_list, "")
    else:  # drawn afresh: no seed is tuned
        a.seed_list = [int(s) % 2**31 for s in np.random.SeedSequence().generate_state(n_seeds)]
    a.dims = ints(a.dims, "5,20" if q else "5,20,50")
    a.rows = ints(a.rows, "100" if q else "100,1000")
    defaults = {5: 3.0, 20: 4.0, 50: 10.0} if q else {5: 30.0, 20: 60.0, 50: 120.0}
    given = {5: a.seconds_d5, 20: a.seconds_d20, 50: a.seconds_d50}
    a.torchgfn_dims = ints(a.torchgfn_dims, "5" if q else ",".join(map(str, a.dims)))
    a.budgets = {d: given.get(d) or defaults.get(d, 60.0) for d in a.dims}
    a.seconds_discrete = a.seconds_discrete or (4.0 if q else 60.0)
    a.samples = a.samples or (300 if q else 10_000)
    a.networks = [x for x in (a.networks or ("asia" if q else "sachs,child")).split(",") if x]
    a.discrete_seeds = a.discrete_seeds or (1 if q else n_seeds)
    a.methods = [m for m in a.methods.split(",") if m]
    if a.no_peers:
        a.methods = [m for m in a.methods if m not in ("ges", "pc", "torchgfn")]
        a.no_discrete = True
    if a.no_torchgfn:
        a.methods = [m for m in a.methods if m != "torchgfn"]
    return a


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    ours_overrides = parse_overrides(args.ours_set)
    if ours_overrides:  # refuse a misspelt field before any instance runs
        from pydantic import ValidationError

        from emily.cognition.registry import variant_config

        try:
            variant_config("dag", **ours_overrides)
        except ValidationError as err:
            raise SystemExit(f"--ours-set: {err}") from None
    load_before = os.getloadavg()
    peers = any(m in args.methods for m in ("ges", "pc", "torchgfn")) or not args.no_discrete
    peer_versions: dict[str, Any] = {}
    if peers:
        python = ensure_peer_venv()
        code = ("import importlib.metadata as m; import json; print(json.dumps({p: m.version(p) "
                "for p in ('torchgfn', 'causal-learn', 'pgmpy', 'torch')}))")  # fmt: skip
        versions = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, check=True
        )
        peer_versions = json.loads(versions.stdout)
    log(f"seeds {args.seed_list}; budgets (CPU s) {args.budgets}; methods {args.methods}")
    rows: list[dict[str, Any]] = []
    w0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        todo = continuous_instances(args, tmp)
        if not args.no_discrete:
            for network in args.networks:
                for seed in args.seed_list[: args.discrete_seeds]:
                    todo.append(discrete_instance(network, seed, args, tmp))
        # Instances in parallel (--jobs), the methods of one instance one after another; every
        # budget is CPU time of its own one-thread process, so a parallel run changes wall time.
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for inst_rows in pool.map(lambda inst: evaluate(inst, args, tmp), todo):
                rows.extend(inst_rows)
        instances_info = [
            {"family": inst.family, "seed": inst.seed, **inst.info} for inst in todo if inst.info
        ]
    summary = summarise(rows)
    figures = headline(rows, args)
    import torch

    import emily

    figures["conditions"] = {
        "dims": args.dims,
        "rows": args.rows,
        "edges_per_node": args.edges_per_node,
        "weights": "±U[0.5, 2], unit Gaussian noise, raw (unstandardised)",
        "budgets_cpu_s": {f"d{d}": b for d, b in args.budgets.items()},
        "budget_discrete_cpu_s": args.seconds_discrete,
        "samples": args.samples,
        "networks": [] if args.no_discrete else args.networks,
        "discrete_rows": args.discrete_rows,
        "discrete_seeds": args.seed_list[: args.discrete_seeds] if not args.no_discrete else [],
        "discrete_networks": instances_info,
        "methods": args.methods,
        "ours_correction": args.ours_correction,
        "ours_train_fraction": args.ours_train_fraction,
        "ours_chains": args.ours_chains,
        "ours_burn_in_fraction": args.ours_burn_in_fraction,
        "ours_polish_steps": args.ours_polish_steps,
        "ours_reference_likelihood": args.ours_reference_likelihood,
        "ours_overrides": ours_overrides,
        "threads": 1,
        "jobs": args.jobs,
        "elapsed_wall_s": time.perf_counter() - w0,
        "load_average_1_5_15_min": {"start": load_before, "end": os.getloadavg()},
        "emily": emily.__version__,
        "torch": torch.__version__,
        "peers": peer_versions,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    figures["summary"] = summary
    figures["instances"] = rows
    print_table(summary, {f"d{d}": b for d, b in args.budgets.items()})
    g = figures["goals"]
    print(f"goals: {json.dumps(g)}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
