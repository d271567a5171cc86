"""Experiment tracking: every training run in MLflow (SQLite under EMILY_HOME by default)."""

from emily.ops.tracking._config import (
    DEFAULT_EXPERIMENT,
    TrackingConfig,
    ensure_experiment,
    make_client,
    quiet_mlflow,
    tracking_config,
)
from emily.ops.tracking._plots import hypothesis_distribution_figure, loss_curve_figure
from emily.ops.tracking._tracker import (
    CHECKPOINT_FILE,
    MODEL_ARTIFACT,
    MODEL_META_FILE,
    STATE_DICT_FILE,
    MetricsCallback,
    MlflowTracker,
    TrackedRun,
    TrackingUnavailableError,
    TrainingOutput,
    track_training,
)

__all__ = [
    "CHECKPOINT_FILE",
    "DEFAULT_EXPERIMENT",
    "MODEL_ARTIFACT",
    "MODEL_META_FILE",
    "STATE_DICT_FILE",
    "MetricsCallback",
    "MlflowTracker",
    "TrackedRun",
    "TrackingConfig",
    "TrackingUnavailableError",
    "TrainingOutput",
    "ensure_experiment",
    "hypothesis_distribution_figure",
    "loss_curve_figure",
    "make_client",
    "quiet_mlflow",
    "track_training",
    "tracking_config",
]
