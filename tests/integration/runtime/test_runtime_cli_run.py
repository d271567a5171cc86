"""``emily run`` end to end in-process: demo stream, files, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
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


# ---------------------------------------------------------------- bad input: stop or skip
# Issue 16, item 9: a bad line must not leave 299 episodes and 125 reflexes behind it.


def _records(count: int, *, start: int = 0) -> list[str]:
    return [
        json.dumps({"id": f"s{i}", "features": {"heat": i % 7, "size": i % 5}, "label": str(i % 2)})
        for i in range(start, start + count)
    ]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _stored(home: Path) -> set[str]:
    """What a run left in the home, besides the schema (reflexes, journal, graph, models...)."""
    return {p.name for p in home.iterdir()} - {"schema"} if home.is_dir() else set()


def test_bad_line_300_stops_before_anything_is_stored(tmp_path: Path) -> None:
    home = tmp_path / "emily-home"
    inferred = runner.invoke(
        app, ["schema", "infer", str(_write(tmp_path / "train.jsonl", _records(50)))]
    )
    assert inferred.exit_code == 0, inferred.output
    source = _write(tmp_path / "bad.jsonl", [*_records(299), "{not json", *_records(20, start=400)])
    result = runner.invoke(app, ["run", str(source), "--no-cognition", "--no-live"])
    assert isinstance(result.exception, InputError), result.output
    assert str(result.exception).startswith(f"{source}:300: not valid JSON")
    assert _stored(home) == set()  # no reflexes, no journal, no episodes


def test_bad_line_in_a_fresh_home_stores_no_schema_either(tmp_path: Path) -> None:
    source = _write(tmp_path / "bad.jsonl", [*_records(299), '{"id": "x", "features": {}}'])
    result = runner.invoke(app, ["run", str(source), *FAST])
    assert isinstance(result.exception, InputError)
    assert f"{source}:300: " in str(result.exception)
    home = tmp_path / "emily-home"
    assert not (home / "schema").exists()
    assert _stored(home) == set()


def test_wrong_columns_after_the_schema_sample_are_refused_whatever_the_phase(
    tmp_path: Path,
) -> None:
    """The gate is on and the line falls after the 256-line sample: it is still refused,
    because acceptance is decided before the loop, not by the oscillator."""
    inferred = runner.invoke(
        app, ["schema", "infer", str(_write(tmp_path / "train.jsonl", _records(50)))]
    )
    assert inferred.exit_code == 0, inferred.output
    wrong = json.dumps({"id": "odd", "features": {"heat": 1, "colour": "red"}})
    for at in (300, 301, 302, 303):  # consecutive lines land on different phases of the cycle
        source = _write(tmp_path / f"wrong{at}.jsonl", [*_records(at - 1), wrong, *_records(5)])
        result = runner.invoke(
            app, ["run", str(source), "--no-cognition", "--no-live", "--gate", "model"]
        )
        assert isinstance(result.exception, InputError), (at, result.output)
        assert f"{source}:{at}: does not match home schema" in str(result.exception)
    assert _stored(tmp_path / "emily-home") == set()


def test_stdin_checks_each_stimulus_before_it_reaches_the_loop(tmp_path: Path) -> None:
    wrong = json.dumps({"id": "odd", "features": {"heat": 1, "colour": "red"}})
    text = "\n".join([*_records(300), wrong, *_records(5)]) + "\n"
    result = runner.invoke(app, ["run", "-", *FAST, "--no-journal"], input=text)
    assert isinstance(result.exception, InputError), result.output
    assert "<stdin>:301: does not match home schema" in str(result.exception)


def test_skip_records_bad_lines_and_runs_the_rest(tmp_path: Path) -> None:
    wrong = json.dumps({"id": "odd", "features": {"heat": 1, "colour": "red"}})
    lines = [*_records(10), "{not json", *_records(10, start=10), wrong, *_records(5, start=20)]
    source = _write(tmp_path / "mixed.jsonl", lines)
    rejects = tmp_path / "out" / "rejects.jsonl"
    result = runner.invoke(
        app,
        [
            "run",
            str(source),
            *FAST,
            "--no-journal",
            "--on-error",
            "skip",
            "--rejects",
            str(rejects),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 25
    assert summary["skipped"] == 2
    assert summary["rejects"] == str(rejects)
    rows = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["source"]) for r in rows] == [(11, str(source)), (22, str(source))]
    assert "not valid JSON" in rows[0]["reason"]
    assert "colour" in rows[1]["reason"]


def test_skip_without_rejects_writes_them_under_the_home(tmp_path: Path) -> None:
    source = _write(tmp_path / "mixed.jsonl", [*_records(10), "[1, 2]", *_records(3, start=10)])
    result = runner.invoke(app, ["run", str(source), *FAST, "--no-journal", "--on-error", "skip"])
    assert result.exit_code == 0, result.output
    rejects = tmp_path / "emily-home" / "rejects" / "mixed.rejects.jsonl"
    assert "skipped 1 bad line" in result.output
    assert [json.loads(r)["line"] for r in rejects.read_text().splitlines()] == [11]


# Issue 16, item 14: bad CLI input is one line, never a traceback.


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", ":1: JSON nested too deeply"),
        ("noise.jsonl", b"\x1f\x8b\x08\x00" + bytes(range(128, 256)) * 8, ":1: not UTF-8 text"),
        ("noise.csv", b"a,b\n" + bytes(range(128, 256)) + b"\n", ":2: not UTF-8 text"),
        (
            "extra.csv",
            b"a,b,label\n1,2,x\n1,2,3,4\n",
            ":3: the row has 4 cells but the header has 3",
        ),
        ("long.csv", b"a,b\n1," + b"x" * 200_000 + b"\n", ":2: a cell is longer than"),
    ],
)
def test_hostile_files_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    result = runner.invoke(app, ["run", str(source), *FAST])
    assert isinstance(result.exception, InputError), result.output
    message = str(result.exception)
    assert message.startswith(f"{source}{expected}")
    assert "\n" not in message
    assert _stored(tmp_path / "emily-home") == set()


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path), *FAST])
    assert isinstance(result.exception, InputError)
    assert (
        str(result.exception)
        == f"{tmp_path} is a directory; expected a .jsonl or .csv file of stimuli"
    )


def test_demo_with_a_file_is_refused(tmp_path: Path) -> None:
    source = _write(tmp_path / "s.jsonl", _records(5))
    result = runner.invoke(app, ["run", "--demo", str(source), *FAST])
    assert isinstance(result.exception, InputError)
    assert "--demo streams the built-in wine data" in str(result.exception)
    assert _stored(tmp_path / "emily-home") == set()


def test_the_console_script_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "noise.jsonl"
    source.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(128, 256)) * 8)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from emily.cli.app import main; main()",
            "run",
            str(source),
            "--no-live",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith(f"error: {source}:1: not UTF-8 text")


def test_stdin_skip_records_each_bad_stimulus_and_goes_on(tmp_path: Path) -> None:
    text = "\n".join([*_records(5), "{oops", *_records(5, start=5)]) + "\n"
    result = runner.invoke(
        app, ["run", "-", *FAST, "--no-journal", "--on-error", "skip"], input=text
    )
    assert result.exit_code == 0, result.output
    assert "10 stimuli from stdin" in result.output
    rejects = tmp_path / "emily-home" / "rejects" / "stdin.rejects.jsonl"
    [row] = [json.loads(r) for r in rejects.read_text().splitlines()]
    assert (row["source"], row["line"]) == ("<stdin>", 6)
