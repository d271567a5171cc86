"""Experiment tracking: every training run in MLflow (SQLite under EMILY_HOME by default)."""

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
