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
    try:
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:  # fail, never skip: CI must notice a missing server
        pytest.fail(f"no PostgreSQL at {SERVER} (set EMILY_TEST_POSTGRES_URL or start it): {exc}")
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


def test_train_register_promote_and_the_runtime_loader_on_postgresql(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The research loop at the CLI with the registry on the server: train → promote → load."""
    from typer.testing import CliRunner

    from emily.cli.app import app
    from emily.core.settings import load_settings
    from emily.runtime.builder import DEMO_FEATURES
    from emily.runtime.champion import choose_cognition

    monkeypatch.setenv("EMILY_MLFLOW_URI", database)
    card = Path(__file__).resolve().parents[3] / "model_cards" / "emily-gflownet.yaml"
    runner = CliRunner()
    for args in (
        ["train", "--env", "dag", "--demo", "--steps", "4", "--no-progress",
         "--out", str(tmp_path / "g.pt"), "--register", "emily-gflownet", "--card", str(card)],
        ["models", "promote", "emily-gflownet", "1", "--why", "on the server"],
    ):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    choice = choose_cognition(load_settings(), DEMO_FEATURES, ManualClock())
    assert choice.model is not None
    assert (choice.model.name, choice.model.version) == ("emily-gflownet", "1")
    with psycopg.connect(database) as db:
        rows = db.execute(
            "SELECT name, alias, version FROM registered_model_aliases ORDER BY name"
        ).fetchall()
    assert ("emily-gflownet", "champion", 1) in rows
