"""``emily run`` end to end in-process: demo stream, files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from emily.cli.app import app
from emily.core import InputError

runner = CliRunner()
FAST = ["--no-cognition", "--no-live", "--rate", "100000"]


def test_demo_runs_and_persists_reflexes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--demo", "--limit", "150", *FAST])
    assert result.exit_code == 0, result.output
    assert "150 stimuli from demo" in result.output
    assert "reflex hits" in result.output
    assert (tmp_path / "emily-home" / "lancedb").is_dir()


def test_jsonl_file_with_text_and_records(tmp_path: Path) -> None:
    source = tmp_path / "stimuli.jsonl"
    lines = [{"id": f"s{i}", "text": f"stove {i % 3}", "label": "withdraw"} for i in range(30)]
    source.write_text("\n".join(json.dumps(line) for line in lines))
    result = runner.invoke(app, ["run", str(source), *FAST])
    assert result.exit_code == 0, result.output
    assert "30 stimuli" in result.output


def test_csv_file_infers_a_schema(tmp_path: Path) -> None:
    source = tmp_path / "stimuli.csv"
    rows = ["id,label,heat,colour"] + [
        f"r{i},{'hot' if i % 2 else 'cold'},{i % 7},red" for i in range(40)
    ]
    source.write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["run", str(source), *FAST])
    assert result.exit_code == 0, result.output
    assert "40 stimuli" in result.output


def test_bad_line_stops_with_its_location(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": "a", "text": "x"}\n{"id": "b"}\n')
    result = runner.invoke(app, ["run", str(source), *FAST])
    assert isinstance(result.exception, InputError)
    assert f"{source}:2" in str(result.exception)
