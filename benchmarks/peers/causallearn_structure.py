"""Peer runner: causal-learn's GES and PC on one data table; prints one JSON line.

Runs inside the peer venv and never imports emily. Reads the CSV the benchmark wrote and runs
one method with causal-learn's defaults for the data kind:

* GES: ``ges(X, score_func=...)``, BIC (``local_score_BIC``, penalty 0.5 log n per parameter)
  for continuous data, BDeu (``local_score_BDeu``, sample prior 1, structure prior 1) for
  discrete data; no limit on parents.
* PC: ``pc(X, alpha, indep_test, stable=True)``, Fisher-z for continuous data, chi-square for
  discrete data, alpha 0.05, causal-learn's default orientation rules.

Both return a graph over the equivalence class (a CPDAG for GES; PC's may also carry
conflicting ``<->`` marks). The output lists its directed, undirected and bidirected edges by
column index; the benchmark turns them into edge probabilities (1 for ``i -> j``, 1/2 per
direction for the others) and scores every method with the same code.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import time
import warnings

import numpy as np
import pandas as pd


def vm_hwm_mb() -> float | None:
    """Peak resident memory of this process (``VmHWM``; ``ru_maxrss`` would include the
    benchmark's own footprint, which Linux carries into a child at exec), in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def edges_of(graph: np.ndarray) -> dict[str, list[list[int]]]:
    """causal-learn's endpoint matrix -> edge lists.

    ``graph[j, i] == 1 and graph[i, j] == -1``: ``i -> j``; both ``-1``: ``i -- j``; both ``1``:
    ``i <-> j``.
    """
    d = graph.shape[0]
    out: dict[str, list[list[int]]] = {"directed": [], "undirected": [], "bidirected": []}
    for i in range(d):
        for j in range(d):
            a, b = int(graph[i, j]), int(graph[j, i])
            if a == -1 and b == 1:
                out["directed"].append([i, j])
            elif i < j and a == -1 and b == -1:
                out["undirected"].append([i, j])
            elif i < j and a == 1 and b == 1:
                out["bidirected"].append([i, j])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--method", choices=["ges", "pc"], required=True)
    ap.add_argument("--kind", choices=["continuous", "discrete"], required=True)
    ap.add_argument("--alpha", type=float, default=0.05)
    args = ap.parse_args()
    frame = pd.read_csv(args.data)
    x = frame.to_numpy(dtype=np.float64)
    w0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.method == "ges":
            from causallearn.search.ScoreBased.GES import ges

            score = "local_score_BIC" if args.kind == "continuous" else "local_score_BDeu"
            recipe = f"ges(score_func={score!r})"
            graph = ges(x, score_func=score)["G"].graph
        else:
            from causallearn.search.ConstraintBased.PC import pc

            test = "fisherz" if args.kind == "continuous" else "chisq"
            recipe = f"pc(alpha={args.alpha}, indep_test={test!r}, stable=True)"
            graph = pc(x, args.alpha, test, stable=True, show_progress=False).G.graph
    seconds, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(
        json.dumps(
            {
                "peer": f"causal-learn {args.method}",
                "recipe": recipe,
                "causal_learn_version": importlib.metadata.version("causal-learn"),
                "d": x.shape[1],
                "seconds": seconds,
                "cpu_s": cpu,
                "peak_rss_mb": vm_hwm_mb(),
                **edges_of(np.asarray(graph)),
            }
        )
    )


if __name__ == "__main__":
    main()
