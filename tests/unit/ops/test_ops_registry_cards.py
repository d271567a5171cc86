"""Model cards: schema validation, clear errors, metrics copied from the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emily.ops.registry import (
    ModelCardError,
    card_json_schema,
    load_card,
    parse_card,
    resolve_card,
)

REPO = Path(__file__).resolve().parents[3]
CARDS = REPO / "model_cards"

GOOD = """
name: m
version: 1.0.0
date: 2026-11-24
intended_use: testing
limitations: [small]
ethical_considerations: [none known]
performance_metrics: [loss, diversity]
"""


def test_every_card_in_the_repo_is_valid() -> None:
    cards = sorted(CARDS.glob("*.yaml"))
    assert cards
    for path in cards:
        assert load_card(path).name == path.stem


def test_schema_file_matches_the_model() -> None:
    on_disk = json.loads((CARDS / "model_card.schema.json").read_text(encoding="utf-8"))
    assert on_disk == card_json_schema()


def test_resolve_copies_metrics_from_the_run() -> None:
    card = resolve_card(parse_card(GOOD), run_id="r1", run_metrics={"loss": 0.5, "diversity": 1})
    assert card.metrics == {"loss": 0.5, "diversity": 1.0}
    assert card.run_id == "r1"


def test_a_metric_the_run_lacks_is_an_error() -> None:
    with pytest.raises(ModelCardError, match=r"did not log: diversity \(the run has: loss\)"):
        resolve_card(parse_card(GOOD), run_id="r1", run_metrics={"loss": 0.5})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("[loss, diversity]", "{diversity_score: 0.89}"), "not give values"),
        (GOOD.replace("[loss, diversity]", "[loss, 0.89]"), "not give values"),
        (GOOD.replace("intended_use: testing\n", ""), "intended_use: Field required"),
        (GOOD.replace("limitations: [small]", "limitations: []"), "limitations"),
        (GOOD + "owner: bob\n", "owner: Extra inputs are not permitted"),
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "must be a YAML mapping"),
    ],
)
def test_broken_cards_are_rejected_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ModelCardError, match=message):
        parse_card(text)


def test_missing_card_file(tmp_path: Path) -> None:
    with pytest.raises(ModelCardError, match="not found"):
        load_card(tmp_path / "absent.yaml")
