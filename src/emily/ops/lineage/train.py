"""Stage ``train``: a GFlowNet over causal DAGs of the alpha features, tracked in MLflow.

The hypotheses are DAGs over the feature columns (``alpha_power``, ``alpha_phase``,
``attention_score``) scored by BGe on the ``prepare`` table, so what the GFlowNet learns is
which causal structures explain the gated stream (the posterior is enumerable for three
variables, which ``evaluate`` uses for an exact L1/JSD). The run is tracked with
``track_training`` (MLflow under EMILY_HOME by default); the checkpoint and the final metrics
are also written as DVC outputs, so ``dvc repro`` knows when they are stale.

Run: ``python -m emily.ops.lineage.train [--params params.yaml]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from emily.cognition import BGeScore, DAGHypotheses, GFlowNet, build
from emily.core import InputError
from emily.ops.lineage._params import (
    FEATURE_COLUMNS,
    FEATURES_FILE,
    MODEL_FILE,
    PARAMS_FILE,
    TRAIN_METRICS_FILE,
    TrainParams,
    load_params,
    write_json,
)
from emily.ops.tracking import TrainingOutput, track_training

EXPERIMENT = "emily-sovereign/lineage"


def read_features(path: Path) -> pd.DataFrame:
    """The feature columns of the ``prepare`` table, or a clear error if it is not there."""
    if not path.is_file():
        raise InputError(f"no features table at {path}; run the prepare stage first")
    table = pd.read_parquet(path)
    missing = [c for c in FEATURE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path} lacks feature columns {missing}; expected {FEATURE_COLUMNS}")
    return table[list(FEATURE_COLUMNS)].astype("float64")


def make_gflownet(features: pd.DataFrame, params: TrainParams) -> GFlowNet:
    """The untrained GFlowNet of ``params.variant`` over DAGs of ``features``' columns."""
    env = DAGHypotheses(BGeScore(features))
    return build(
        env,
        params.variant,
        seed=params.seed,
        batch_size=params.batch_size,
        hidden=params.hidden,
        lr=params.lr,
        lr_log_z=params.lr_log_z,
    )


def train(
    features_path: Path = FEATURES_FILE,
    params: TrainParams | None = None,
    *,
    model_path: Path = MODEL_FILE,
    metrics_path: Path = TRAIN_METRICS_FILE,
) -> dict[str, Any]:
    """Train, track in MLflow, write the checkpoint and metrics; return the metrics written."""
    params = params or load_params().train
    gfn = make_gflownet(read_features(features_path), params)

    def trainer(callback: Callable[..., None]) -> TrainingOutput:
        gfn.train(steps=params.steps, progress=False, callbacks=[callback])
        samples = gfn.generate(params.hypotheses)
        return TrainingOutput(model=gfn, hypotheses=[int(k) for k in samples.keys.tolist()])

    run = track_training(
        trainer,
        {**params.model_dump(), "features": str(features_path)},
        experiment=EXPERIMENT,
        run_name=f"lineage-{params.variant}",
    )
    gfn.save(model_path)
    metrics: dict[str, Any] = {k: round(v, 6) for k, v in sorted(run.metrics.items())}
    metrics["mlflow_run_id"] = run.run_id
    write_json(metrics_path, metrics)
    return metrics


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command-line entry point of the stage."""
    parser = argparse.ArgumentParser(prog="python -m emily.ops.lineage.train")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    metrics = train(FEATURES_FILE, load_params(args.params).train)
    print(f"train: loss={metrics.get('loss')} run={metrics['mlflow_run_id']} -> {MODEL_FILE}")
    return metrics


if __name__ == "__main__":
    main()
