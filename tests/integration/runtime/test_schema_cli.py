"""``emily schema infer|show`` on a temporary EMILY_HOME, with the wine data as pandas writes it:
learn the schema from train.csv, then read test.csv with it (issue 14)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from sklearn.datasets import load_wine
from typer.testing import CliRunner

from emily.cli.schema_commands import register_schema_commands
from emily.core import InputError
from emily.instinct import StimulusEncoder
from emily.runtime.schema_store import ConformStats, SchemaStore, conform
from emily.runtime.stimuli import read_path

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register_schema_commands(app)
    return app


@pytest.fixture
def home() -> Path:
    """The per-test EMILY_HOME that tests/conftest.py set."""
    return Path(os.environ["EMILY_HOME"])


@pytest.fixture
def wine(tmp_path: Path) -> tuple[Path, Path]:
    """train.csv and test.csv as ``DataFrame.to_csv`` writes them (index column, ``target``)."""
    frame = load_wine(as_frame=True).frame
    train = frame.sample(frac=0.7, random_state=0)
    paths = tmp_path / "train.csv", tmp_path / "test.csv"
    train.to_csv(paths[0])
    frame.drop(train.index).to_csv(paths[1])
    return paths


def _snapshot(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((home / "schema").iterdir())}


def test_infer_then_show_json(app: typer.Typer, home: Path, wine: tuple[Path, Path]) -> None:
    inferred = runner.invoke(app, ["schema", "infer", str(wine[0]), "--label", "target"])
    assert inferred.exit_code == 0, inferred.output
    assert "reflexes_default_v1" in inferred.output
    assert "warning" not in inferred.output
    shown = runner.invoke(app, ["schema", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    schema = json.loads(shown.output)
    assert (schema["name"], schema["version"], schema["kind"]) == ("default", 1, "records")
    assert schema["source"] == str(wine[0])
    assert schema["label_column"] == "target"
    assert schema["reflex_table"] == "reflexes_default_v1"
    assert schema["threshold"] is None
    features = schema["features"]["features"]
    assert len(features) == 13
    assert "target" not in features
    assert "" not in features  # the index column
    assert features["alcohol"]["kind"] == "numeric"
    table = runner.invoke(app, ["schema", "show"])
    assert table.exit_code == 0, table.output
    assert "alcohol" in table.output
    assert "not calibrated yet" in table.output


def test_test_file_reads_with_the_training_schema(
    app: typer.Typer, home: Path, wine: tuple[Path, Path]
) -> None:
    assert runner.invoke(app, ["schema", "infer", str(wine[0]), "--label", "target"]).exit_code == 0
    schema = SchemaStore(home).current()
    assert schema is not None
    assert schema.features is not None
    stats = ConformStats()
    test = [
        stats.add(conform(s, schema)).stimulus
        for s in read_path(wine[1], label=schema.label_column)
    ]
    assert stats.records == len(test) == 178 - 125
    assert {s.label for s in test} == {"0", "1", "2"}
    vectors = StimulusEncoder(schema.features, dim=512).encode_many(
        [s.features for s in test if s.features is not None]
    )
    assert vectors.shape == (len(test), 512 // 8)


def test_second_infer_is_refused_without_new_version(
    app: typer.Typer, home: Path, wine: tuple[Path, Path]
) -> None:
    assert runner.invoke(app, ["schema", "infer", str(wine[0]), "--label", "target"]).exit_code == 0
    before = _snapshot(home)
    refused = runner.invoke(app, ["schema", "infer", str(wine[1]), "--label", "target"])
    assert isinstance(refused.exception, InputError)
    message = str(refused.exception)
    assert "already has schema default v1" in message
    assert "nothing was changed" in message
    assert "--new-version" in message
    assert "reflexes_default_v1" in message
    assert _snapshot(home) == before


def test_new_version_keeps_the_old_one(
    app: typer.Typer, home: Path, wine: tuple[Path, Path]
) -> None:
    assert runner.invoke(app, ["schema", "infer", str(wine[0])]).exit_code == 0
    again = runner.invoke(
        app, ["schema", "infer", str(wine[0]), "--label", "target", "--new-version"]
    )
    assert again.exit_code == 0, again.output
    store = SchemaStore(home)
    first, second = store.versions()
    assert first.features is not None
    assert "target" in first.features.features  # no --label target: a feature
    assert second.features is not None
    assert "target" not in second.features.features
    assert store.current() == second
    assert second.reflex_table == "reflexes_default_v2"


def test_missing_label_column_warns_with_a_hint(app: typer.Typer, wine: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["schema", "infer", str(wine[0])])
    assert result.exit_code == 0, result.output
    assert "no stimulus had a 'label' label" in result.output
    assert "did you mean --label target?" in result.output


def test_show_without_a_schema_and_a_bad_name(app: typer.Typer, wine: tuple[Path, Path]) -> None:
    empty = runner.invoke(app, ["schema", "show"])
    assert isinstance(empty.exception, InputError)
    assert "has no schema yet" in str(empty.exception)
    bad = runner.invoke(app, ["schema", "infer", str(wine[0]), "--name", "my wine"])
    assert isinstance(bad.exception, InputError)
    assert "schema name 'my wine'" in str(bad.exception)
