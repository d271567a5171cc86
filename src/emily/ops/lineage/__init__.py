"""Data lineage: the DVC pipeline ``prepare -> train -> evaluate`` (``dvc.yaml``, ``params.yaml``).

Each stage is a module run as ``python -m emily.ops.lineage.<stage>``; DVC re-runs a stage only
when its declared code, data or ``params.yaml`` section changed. ``prepare``'s Parquet table is
also the feature store's offline source (``emily.ops.features``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_attributes

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
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__ = lazy_attributes(__name__, _HOME_OF)


def __dir__() -> list[str]:
    """The module's own names and the lazy public ones, as ``dir()`` showed them when eager."""
    return sorted({*globals(), *__all__})


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
