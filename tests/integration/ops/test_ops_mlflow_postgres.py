"""Tracking and registry on the local PostgreSQL server (a fresh database per run, dropped after).

Needs the PostgreSQL that CI starts on 127.0.0.1:5432 (trust auth); the server URL can be
changed with ``EMILY_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import torch
from psycopg import sql

from emily.core import ManualClock
from emily.ops.registry import DecisionLedger, ModelCardSpec, ModelRegistry
from emily.ops.tracking import TrackingConfig, TrainingOutput, track_training, tracking_config

pytestmark = [pytest.mark.slow]

SERVER = os.environ.get("EMILY_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"emily_mlflow_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_emily_mlflow_uri_selects_postgresql(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMILY_MLFLOW_URI", database)
    config = tracking_config()
    assert config == TrackingConfig(
        tracking_uri=database, artifact_root=(tmp_path / "emily-home/mlflow/artifacts").as_uri()
    )
    clock = ManualClock()

    def trainer(callback):  # type: ignore[no-untyped-def]
        for step in range(3):
            callback(step, {"loss": 1.0 / (step + 1), "diversity": 0.9})
        return TrainingOutput(model={"w": torch.arange(3.0)})

    run = track_training(trainer, {"steps": 3}, config=config, clock=clock)
    card = ModelCardSpec(
        name="pg-model", version="1", date=clock.now().date(), intended_use="test",
        limitations=["none"], ethical_considerations=["none"],
        performance_metrics=["loss", "diversity"],
    )  # fmt: skip
    registry = ModelRegistry(config=config, ledger=DecisionLedger(tmp_path / "d.db"), clock=clock)
    version = registry.register(run_id=run.run_id, name="pg-model", card=card)
    registry.promote("pg-model", version.version, why="only one")
    assert torch.equal(registry.load_state_dict("pg-model")["w"], torch.arange(3.0))
    with psycopg.connect(database) as db:
        row = db.execute("SELECT alias, version FROM registered_model_aliases").fetchone()
    assert row == ("champion", int(version.version))
