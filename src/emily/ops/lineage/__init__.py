"""Data lineage: the DVC pipeline ``prepare -> train -> evaluate`` (``dvc.yaml``, ``params.yaml``).

Each stage is a module run as ``python -m emily.ops.lineage.<stage>``; DVC re-runs a stage only
when its declared code, data or ``params.yaml`` section changed. ``prepare``'s Parquet table is
also the feature store's offline source (``emily.ops.features``).
"""

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
