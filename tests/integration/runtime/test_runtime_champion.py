"""Choosing cognition's starting model: a compatible champion, else the flags' variant."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from emily.cli.app import app
from emily.core import InputError, ManualClock
from emily.core.settings import load_settings
from emily.runtime.builder import DEMO_FEATURES
from emily.runtime.champion import choose_cognition
from emily.runtime.structure import CausalStructureSource, CognitionModel

pytestmark = pytest.mark.slow

CARD = Path(__file__).resolve().parents[3] / "model_cards" / "emily-gflownet.yaml"


def _ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_without_registry_the_flag_picks_the_variant() -> None:
    settings, clock = load_settings(), ManualClock()
    choice = choose_cognition(settings, DEMO_FEATURES, clock)
    assert (choice.model, choice.variant) == (None, "v1")
    assert choice.reason == "no model registry yet"
    _ok("flags", "set", "enable_gflownet_v2", "on")
    assert choose_cognition(settings, DEMO_FEATURES, clock).variant == "v2"


def test_an_incompatible_champion_is_not_used(tmp_path: Path) -> None:
    out = str(tmp_path / "g.pt")
    _ok("train", "--env", "hypergrid", "--steps", "5", "--no-progress", "--out", out,
        "--register", "emily-gflownet", "--card", str(CARD))  # fmt: skip
    _ok("models", "promote", "emily-gflownet", "1", "--why", "test")
    choice = choose_cognition(load_settings(), DEMO_FEATURES, ManualClock())
    assert choice.model is None
    assert "models 'hypergrid' hypotheses, not causal DAGs" in choice.reason


def test_the_structure_source_refuses_a_model_over_other_columns(tmp_path: Path) -> None:
    _ok("train", "--env", "dag", "--demo", "--steps", "3", "--no-progress", "--no-track",
        "--out", str(tmp_path / "g.pt"))  # fmt: skip
    model = CognitionModel(
        name="m", version="1", variant="v1", checkpoint=(tmp_path / "g.pt").read_bytes()
    )
    CausalStructureSource(DEMO_FEATURES, model=model)  # the same columns: accepted
    with pytest.raises(InputError, match=r"cannot start cognition from m v1 \(v1\): .*not over"):
        CausalStructureSource(("hue", "alcohol"), model=model)


def test_register_without_tracking_is_refused() -> None:
    result = CliRunner().invoke(app, ["train", "--no-track", "--register", "x"])
    assert result.exit_code != 0
    assert "--register needs a tracked run" in str(result.exception)
