"""Where runs are tracked: a SQLite file under ``EMILY_HOME`` unless ``EMILY_MLFLOW_URI`` says else.

Why a SQLite file by default: the researcher's first run must be tracked without starting a
server (DESIGN: embedded by default). ``EMILY_MLFLOW_URI`` switches to a tracking server
(``http://``) or straight to PostgreSQL (``postgresql://``; SQLAlchemy 2.1 picks the ``psycopg``
driver). MLflow's own telemetry and progress bars are switched off: Emily is sovereign, nothing
leaves the machine, and a progress bar in a log is noise.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from emily.core import ConfigError, SovereignModel
from emily.core.settings import EmilySettings, load_settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

DEFAULT_EXPERIMENT = "emily-sovereign/gflownet"
_SCHEMES = ("sqlite:///", "postgresql://", "postgresql+psycopg://", "http://", "https://", "file:")


class TrackingConfig(SovereignModel):
    """A resolved tracking location.

    Attributes:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_root: Where new experiments store artifacts, or ``None`` to let a tracking
            server decide (``http://`` URIs).
    """

    tracking_uri: str
    artifact_root: str | None


def tracking_config(settings: EmilySettings | None = None) -> TrackingConfig:
    """Resolve the tracking URI and artifact folder from Emily's settings.

    Args:
        settings: Loaded settings; read from the environment when ``None``.

    Returns:
        ``sqlite:///HOME/mlflow/mlflow.db`` with artifacts in ``HOME/mlflow/artifacts`` by
        default; the configured URI otherwise (a database URI keeps artifacts under HOME).
    """
    settings = settings or load_settings()
    artifacts = settings.path("mlflow", "artifacts").resolve()
    uri = settings.mlflow_uri
    if uri is None:
        db = settings.path("mlflow", "mlflow.db").resolve()
        db.parent.mkdir(parents=True, exist_ok=True)
        return TrackingConfig(tracking_uri=f"sqlite:///{db}", artifact_root=artifacts.as_uri())
    if not uri.startswith(_SCHEMES):
        raise ConfigError(
            f"EMILY_MLFLOW_URI={uri!r} is invalid: expected sqlite:///PATH, postgresql://..., "
            "or http(s):// of an MLflow tracking server"
        )
    if uri.startswith(("http://", "https://")):
        return TrackingConfig(tracking_uri=uri, artifact_root=None)
    return TrackingConfig(tracking_uri=uri, artifact_root=artifacts.as_uri())


UI_PORT = 5000
"""Where ``emily ui`` serves the MLflow UI for an embedded store (its ``--port`` default)."""


def run_url(config: TrackingConfig, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of one run: on the tracking server, else where ``emily ui`` serves."""
    uri = config.tracking_uri
    base = (
        uri.rstrip("/")
        if uri.startswith(("http://", "https://"))
        else f"http://127.0.0.1:{UI_PORT}"
    )
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def quiet_mlflow() -> None:
    """Switch off MLflow's telemetry and progress bars (unless the user set them explicitly)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def make_client(config: TrackingConfig) -> MlflowClient:
    """An ``MlflowClient`` for ``config`` (tracking and registry on the same store)."""
    quiet_mlflow()
    from mlflow import MlflowClient

    # "Creating initial MLflow database tables..." on a fresh store is INFO noise on stderr that
    # lands in front of `emily train --json`'s one JSON line when the streams are merged.
    for noisy in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)


def ensure_experiment(client: MlflowClient, name: str, config: TrackingConfig) -> str:
    """The id of experiment ``name``, creating it with the configured artifact root if absent."""
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None if config.artifact_root is None else f"{config.artifact_root}/{_slug(name)}"
    if location is not None and location.startswith("file:"):
        Path(location.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return str(client.create_experiment(name, artifact_location=location))


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
