"""The pipeline's parameters (``params.yaml``) and file layout, validated once for every stage.

Why one module: DVC decides what to re-run from the ``params:`` keys each stage declares in
``dvc.yaml``; the stages must read exactly those keys, so the sections are typed here
(``SovereignModel``: a typo in ``params.yaml`` is an error, not a silently ignored key) and
the output paths are named once, shared by ``dvc.yaml``, the stages and the feature store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from emily.core import InputError, SovereignModel

PARAMS_FILE = Path("params.yaml")
FEATURES_FILE = Path("lineage/data/alpha_features.parquet")
MODEL_FILE = Path("lineage/models/gflownet.pt")
TRAIN_METRICS_FILE = Path("lineage/metrics/train.json")
EVAL_METRICS_FILE = Path("lineage/metrics/evaluate.json")
FEATURE_COLUMNS = ("alpha_power", "alpha_phase", "attention_score")
"""The ``alpha_oscillation_features`` of each episode (the feature store serves the same)."""


class PrepareParams(SovereignModel):
    """A seeded synthetic stimulus stream gated by the alpha oscillator, one row per episode."""

    seed: int = Field(ge=0)
    episodes: int = Field(ge=2, description="Rows of the features table.")
    samples_per_episode: int = Field(ge=2, description="Stimuli gated per episode.")
    sample_rate_hz: float = Field(gt=0, description="Stimulus sampling rate.")
    frequency_hz: float = Field(ge=8.0, le=13.0, description="Alpha frequency (band 8-13 Hz).")
    alpha_power: float = Field(gt=0, description="Median inhibition amplitude per episode.")
    power_spread: float = Field(ge=0, description="Log-normal sigma of the per-episode power.")
    start: str = Field(description="ISO-8601 UTC event time of the first episode.")
    episode_spacing_s: float = Field(gt=0, description="Event-time gap between episodes.")


class TrainParams(SovereignModel):
    """A GFlowNet over causal DAGs of the feature columns (BGe score), tracked in MLflow."""

    variant: str
    seed: int = Field(ge=0)
    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    hidden: int = Field(ge=1)
    lr: float = Field(gt=0)
    lr_log_z: float = Field(gt=0, description="Learning rate of log Z (the posterior is peaked).")
    hypotheses: int = Field(ge=1, description="Samples drawn for the logged distribution plot.")


class EvaluateParams(SovereignModel):
    """Exact L1/JSD against the DAG posterior, plus sample statistics."""

    samples: int = Field(ge=2)
    seed: int = Field(ge=0)


class PipelineParams(SovereignModel):
    """All of ``params.yaml``."""

    prepare: PrepareParams
    train: TrainParams
    evaluate: EvaluateParams


def load_params(path: Path = PARAMS_FILE) -> PipelineParams:
    """Read and validate ``params.yaml``.

    Raises:
        InputError: the file is missing, not YAML, or does not match the schema.
    """
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read pipeline parameters from {path}: {exc}") from exc
    try:
        return PipelineParams.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InputError(f"{path} is invalid: {problems}") from None


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a metrics file (sorted keys, so an unchanged result is byte-identical for DVC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
