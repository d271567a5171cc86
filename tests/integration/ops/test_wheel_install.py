"""A wheel, installed into a fresh venv outside the clone, works from any folder.

The wheel and its venv come from the suite's ``wheel_bin`` fixture (tests/conftest.py); each
test runs the CLI with its working folder and ``EMILY_HOME`` in a temporary folder: every file a
command needs must come from the installed package.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

if TYPE_CHECKING:
    from conftest import WheelUser

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]


def test_wheel_inits_migrates_trains_and_registers(wheel_user: WheelUser) -> None:
    home = wheel_user.home
    assert "wrote" in wheel_user.emily("init")
    assert (home / "model_cards" / "emily-gflownet.yaml").is_file()
    assert "applied: 001, 002" in wheel_user.emily("migrate", "up")
    out = wheel_user.emily("train", "--steps", "20", "--no-progress", "--json",
                           "--register", "emily-gflownet")  # fmt: skip
    assert json.loads(out.splitlines()[-1])["registered"] == "emily-gflownet v1"
    assert not (wheel_user.cwd / "model_cards").exists()  # nothing came from, or went to, cwd


def _feast_venv() -> Path:
    """The isolated Feast environment, made by the project's own script when missing."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup_feast.sh")], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"scripts/setup_feast.sh failed; run it by hand to see why:\n{proc.stderr}")
    return Path(os.environ.get("EMILY_FEAST_VENV", REPO / ".venv-feast"))


def test_wheel_materializes_features(wheel_user: WheelUser) -> None:
    feast = _feast_venv()
    source = wheel_user.cwd / "alpha_features.parquet"
    pd.DataFrame({
        "episode_id": ["ep_000000", "ep_000001"],
        "event_timestamp": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]),
        "alpha_power": [1.0, 2.0], "alpha_phase": [0.1, 0.2], "attention_score": [0.5, 0.6],
    }).to_parquet(source)  # fmt: skip
    user = dataclasses.replace(wheel_user, env=wheel_user.env | {"EMILY_FEAST_VENV": str(feast)})
    user.emily("init")
    out = user.emily("features", "materialize", "--source", str(source),
                     "--start", "2025-12-31T00:00:00+00:00", "--end", "2026-01-02T00:00:00+00:00",
                     "--json")  # fmt: skip
    assert json.loads(out.splitlines()[-1])["online_store"] == "sqlite"
    got = user.emily("features", "get", "ep_000001", "--json")
    assert json.loads(got.splitlines()[-1])[0]["alpha_power"] == pytest.approx(2.0)
