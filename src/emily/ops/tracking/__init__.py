"""Experiment tracking: every training run in MLflow (SQLite under EMILY_HOME by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.tracking._config import (
        DEFAULT_EXPERIMENT,
        UI_PORT,
        TrackingConfig,
        ensure_experiment,
        make_client,
        quiet_mlflow,
        run_url,
        tracking_config,
    )
    from emily.ops.tracking._metric_info import METRICS, MetricInfo, describe_metric, metric_info
    from emily.ops.tracking._plots import (
        hypothesis_distribution_figure,
        hypothesis_label,
        loss_curve_figure,
    )
    from emily.ops.tracking._tracker import (
        CHECKPOINT_FILE,
        MODEL_ARTIFACT,
        MODEL_META_FILE,
        STATE_DICT_FILE,
        MetricsCallback,
        MlflowTracker,
        ModelLogger,
        TrackedRun,
        TrackingUnavailableError,
        TrainingOutput,
        track_training,
    )

_HOMES = {
    "emily.ops.tracking._config": (
        "DEFAULT_EXPERIMENT", "TrackingConfig", "UI_PORT", "ensure_experiment", "make_client",
        "quiet_mlflow", "run_url", "tracking_config",
    ),
    "emily.ops.tracking._metric_info": ("METRICS", "MetricInfo", "describe_metric", "metric_info"),
    "emily.ops.tracking._plots": (
        "hypothesis_distribution_figure", "hypothesis_label", "loss_curve_figure",
    ),
    "emily.ops.tracking._tracker": (
        "CHECKPOINT_FILE", "MODEL_ARTIFACT", "MODEL_META_FILE", "MetricsCallback", "MlflowTracker",
        "ModelLogger", "STATE_DICT_FILE", "TrackedRun", "TrackingUnavailableError",
        "TrainingOutput", "track_training",
    ),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "CHECKPOINT_FILE",
    "DEFAULT_EXPERIMENT",
    "METRICS",
    "MODEL_ARTIFACT",
    "MODEL_META_FILE",
    "STATE_DICT_FILE",
    "UI_PORT",
    "MetricInfo",
    "MetricsCallback",
    "MlflowTracker",
    "ModelLogger",
    "TrackedRun",
    "TrackingConfig",
    "TrackingUnavailableError",
    "TrainingOutput",
    "describe_metric",
    "ensure_experiment",
    "hypothesis_distribution_figure",
    "hypothesis_label",
    "loss_curve_figure",
    "make_client",
    "metric_info",
    "quiet_mlflow",
    "run_url",
    "track_training",
    "tracking_config",
]
