"""Where runs are tracked, and the tracker's pure parts (plots, record splitting)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from emily.core import ConfigError, InputError
from emily.core.settings import load_settings
from emily.ops.tracking import (
    MlflowTracker,
    TrackingConfig,
    hypothesis_distribution_figure,
    loss_curve_figure,
    tracking_config,
)
from emily.ops.tracking._tracker import _split_record


def test_default_is_a_sqlite_file_under_emily_home() -> None:
    config = tracking_config()
    home = Path(os.environ["EMILY_HOME"]).resolve()
    assert config.tracking_uri == f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    assert config.artifact_root == (home / "mlflow" / "artifacts").as_uri()


def test_server_and_database_uris() -> None:
    server = tracking_config(load_settings(mlflow_uri="http://127.0.0.1:5000"))
    assert server == TrackingConfig(tracking_uri="http://127.0.0.1:5000", artifact_root=None)
    db = tracking_config(load_settings(mlflow_uri="postgresql://127.0.0.1:5432/mlflow"))
    assert db.tracking_uri == "postgresql://127.0.0.1:5432/mlflow"
    assert db.artifact_root is not None
    with pytest.raises(ConfigError, match="EMILY_MLFLOW_URI"):
        tracking_config(load_settings(mlflow_uri="ftp://nope"))


@dataclass(frozen=True)
class Step:
    step: int
    loss: float
    modes: int
    converged: bool
    l1: float | None = None


def test_split_record_keeps_numbers_and_drops_the_rest() -> None:
    assert _split_record(Step(3, 0.5, 2, True)) == (3, {"loss": 0.5, "modes": 2.0})
    assert _split_record({"step": 1, "loss": 2.0, "note": "x"}) == (1, {"loss": 2.0})
    with pytest.raises(InputError, match="step"):
        _split_record({"loss": 1.0})
    with pytest.raises(InputError, match="dataclass or mapping"):
        _split_record(3.0)


def test_plots_render_headless() -> None:
    loss = loss_curve_figure({"loss": [(0, 2.0), (1, 1.0)], "diversity": [(0, 0.5)], "x": []})
    assert loss.axes[0].get_yscale() == "log"
    counts = {f"h{i}": i + 1 for i in range(50)}
    dist = hypothesis_distribution_figure(counts)
    assert len(dist.axes[0].patches) == 41  # 40 bars + "other"


def test_tracker_outside_its_run_is_an_error(tmp_path: Path) -> None:
    config = TrackingConfig(tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", artifact_root=None)
    tracker = MlflowTracker(config=config, client=object())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no run"):
        _ = tracker.run_id
    with pytest.raises(InputError, match="not started"):
        _ = tracker.experiment_id
