"""The `cognition` Typer sub-app: train and sample on tiny spaces."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from emily.cli.cognition import app

runner = CliRunner()


def test_train_then_sample_hypergrid(tmp_path: Path) -> None:
    out = tmp_path / "g.pt"
    res = runner.invoke(
        app,
        ["train", "--steps", "5", "--ndim", "2", "--height", "4", "--hidden", "16",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["steps"] == 5
    assert "l1" in payload
    assert out.exists()
    res = runner.invoke(app, ["sample", str(out), "-n", "200", "--top", "3", "--json"])
    assert res.exit_code == 0, res.output
    sampled = json.loads(res.output)
    assert sampled["samples"] == 200
    assert len(sampled["top"]) <= 3
    assert isinstance(sampled["mode_collapse"], bool)
    res = runner.invoke(app, ["sample", str(out), "-n", "50"])
    assert res.exit_code == 0
    assert "diversity" in res.output


def test_train_dag_from_csv_and_synthetic(tmp_path: Path) -> None:
    from emily.cognition.data import synthetic_linear_gaussian

    data, _ = synthetic_linear_gaussian(d=3, seed=2)
    csv = tmp_path / "d.csv"
    data.to_csv(csv, index=False)
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv), "--steps", "3", "--hidden", "16",
         "--out", str(tmp_path / "d.pt"), "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "jsd" in res.output
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--nodes", "3", "--steps", "2", "--hidden", "16",
         "--out", str(tmp_path / "s.pt"), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output


def test_bdeu_without_data_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "--env", "dag", "--score", "bdeu", "--steps", "1"])
    assert res.exit_code != 0
    assert "BDeu needs" in str(res.exception)
