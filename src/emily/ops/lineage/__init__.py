"""Data lineage: the DVC pipeline ``prepare -> train -> evaluate`` (``dvc.yaml``, ``params.yaml``).

Each stage is a module run as ``python -m emily.ops.lineage.<stage>``; DVC re-runs a stage only
when its declared code, data or ``params.yaml`` section changed. ``prepare``'s Parquet table is
also the feature store's offline source (``emily.ops.features``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.lineage._params import (
        EVAL_METRICS_FILE,
        FEATURE_COLUMNS,
        FEATURES_FILE,
        MODEL_FILE,
        PARAMS_FILE,
        TRAIN_METRICS_FILE,
        EvaluateParams,
        PipelineParams,
        PrepareParams,
        TrainParams,
        load_params,
    )

_HOMES = {
    "emily.ops.lineage._params": (
        "EVAL_METRICS_FILE", "EvaluateParams", "FEATURES_FILE", "FEATURE_COLUMNS", "MODEL_FILE",
        "PARAMS_FILE", "PipelineParams", "PrepareParams", "TRAIN_METRICS_FILE", "TrainParams",
        "load_params",
    ),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "EVAL_METRICS_FILE",
    "FEATURES_FILE",
    "FEATURE_COLUMNS",
    "MODEL_FILE",
    "PARAMS_FILE",
    "TRAIN_METRICS_FILE",
    "EvaluateParams",
    "PipelineParams",
    "PrepareParams",
    "TrainParams",
    "load_params",
]
