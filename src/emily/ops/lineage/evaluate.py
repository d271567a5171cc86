"""Stage ``evaluate``: how close the trained sampler is to the exact DAG posterior.

Three feature columns give 25 DAGs, so the target distribution is enumerable: ``L1`` and
Jensen-Shannon divergence are exact (``GFlowNet.exact_metrics``), not estimated from samples.
Sample statistics (distinct hypotheses, diversity, mean log-reward, the most frequent DAG) come
from ``evaluate.samples`` draws. Diversity is descriptive (a correct sampler of a sharp posterior
has little); whether the sampler collapsed is ``dag_collapse``: how far the samples of each
Markov equivalence class sit from an even spread over its members (0 even, 1 on one member;
``null`` when no class was sampled often enough to tell), its p-value and the verdict
(:func:`emily.cognition.metrics.dag_collapse`).

Run: ``python -m emily.ops.lineage.evaluate [--params params.yaml]``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from emily.cognition import GFlowNet, dag_collapse, diversity
from emily.ops.lineage._params import (
    EVAL_METRICS_FILE,
    MODEL_FILE,
    PARAMS_FILE,
    EvaluateParams,
    load_params,
    write_json,
)


def evaluate(
    model_path: Path = MODEL_FILE,
    params: EvaluateParams | None = None,
    *,
    metrics_path: Path = EVAL_METRICS_FILE,
) -> dict[str, Any]:
    """Evaluate the checkpoint at ``model_path``; write and return the metrics."""
    params = params or load_params().evaluate
    gfn = GFlowNet.load(model_path)
    l1, jsd = gfn.exact_metrics()
    torch.manual_seed(params.seed)
    samples = gfn.generate(params.samples)
    keys = [int(k) for k in samples.keys.tolist()]
    top_key, top_count = Counter(keys).most_common(1)[0]
    top = samples.descriptions[keys.index(top_key)]
    collapse = dag_collapse(
        samples.states["adj"], max_parents=getattr(gfn.env, "max_parents", None), seed=params.seed
    )
    metrics: dict[str, Any] = {
        "l1": round(float(l1), 6),
        "jsd": round(float(jsd), 6),
        "distinct_hypotheses": len(set(keys)),
        "diversity": round(diversity(samples.embeddings), 6),
        "dag_collapse": None if collapse.statistic is None else round(collapse.statistic, 6),
        "dag_collapse_p": None if collapse.p_value is None else round(collapse.p_value, 6),
        "dag_collapsed": collapse.collapsed,
        "dag_collapse_classes_tested": collapse.classes_tested,
        "mean_log_reward": round(float(samples.log_reward.mean()), 6),
        "top_dag_share": round(top_count / len(keys), 6),
        "top_dag": " ; ".join(f"{a}->{b}" for a, b in top) or "(no edges)",
    }
    write_json(metrics_path, metrics)
    return metrics


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command-line entry point of the stage."""
    parser = argparse.ArgumentParser(prog="python -m emily.ops.lineage.evaluate")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    metrics = evaluate(MODEL_FILE, load_params(args.params).evaluate)
    print(f"evaluate: l1={metrics['l1']} jsd={metrics['jsd']} -> {EVAL_METRICS_FILE}")
    return metrics


if __name__ == "__main__":
    main()
