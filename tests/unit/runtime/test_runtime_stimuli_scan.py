"""Reading stimulus files line by line: every bad line becomes one located error, never a crash.

``scan_*`` keep reading after a bad line (``emily run --on-error skip`` needs the rest);
``read_*`` stop at the first one. Either way the error is an ``InputError`` that names
``source:line``, what was wrong and what was expected, so the CLI prints it as one line.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from emily.core import InputError
from emily.runtime.stimuli import LineError, Stimulus, read_path, scan_csv, scan_jsonl, scan_path


def _errors(items: list[tuple[int, Stimulus | LineError]]) -> dict[int, str]:
    return {line: item.reason for line, item in items if isinstance(item, LineError)}


def test_scan_jsonl_reports_each_bad_line_and_reads_on() -> None:
    text = '{"id": "a", "text": "x"}\n{oops\n\n{"id": "b"}\n{"id": "c", "text": "y"}\n'
    items = list(scan_jsonl(io.StringIO(text), "f.jsonl"))
    assert [line for line, _ in items] == [1, 2, 4, 5]
    errors = _errors(items)
    assert set(errors) == {2, 4}
    assert "not valid JSON" in errors[2]
    assert "exactly one of 'features' or 'text'" in errors[4]
    bad = items[1][1]
    assert isinstance(bad, LineError)
    assert str(bad).startswith("f.jsonl:2: not valid JSON")
    assert (bad.source, bad.line) == ("f.jsonl", 2)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"id": "a", "features": {"x": 1' + "0" * 5000 + "}}", "expected"),
        ('{"id": "a", "features": {"x": {"y": {"z": 1}}}}', "features.x"),
    ],
)
def test_hostile_json_lines_are_located_errors(line: str, expected: str) -> None:
    [(number, item)] = list(scan_jsonl(io.StringIO(line + "\n"), "f.jsonl"))
    assert number == 1
    assert isinstance(item, LineError)
    assert expected in item.reason
    assert "\n" not in str(item)


def test_binary_file_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "noise.jsonl"
    path.write_bytes(b'{"id": "a", "text": "ok"}\n' + bytes(range(128, 256)) + b"\n")
    items = list(scan_path(path))
    assert isinstance(items[0][1], Stimulus)
    [(line, error)] = [(n, e) for n, e in items if isinstance(e, LineError)]
    assert line == 2
    assert "not UTF-8 text" in error.reason
    assert "byte 0x80" in error.reason


def test_binary_csv_row_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(b"a,b\n1,2\n\xff\xfe,3\n4,5\n")
    items = list(scan_path(path))
    assert _errors(items).keys() == {3}
    assert [item.id for _, item in items if isinstance(item, Stimulus)] == ["row-1", "row-3"]


def test_csv_extra_cells_and_oversized_cells_are_located_errors() -> None:
    text = "a,b\n1,2\n1,2,3\n1," + "x" * 200_000 + "\n5,6\n"
    items = list(scan_csv(io.StringIO(text), "t.csv"))
    errors = _errors(items)
    assert "3 cells but the header has 2" in errors[3]
    assert "longer than" in errors[4]
    assert isinstance(items[-1][1], Stimulus)
    assert items[-1][1].features == {"a": 5.0, "b": 6.0}


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is a directory; expected a \.jsonl or \.csv file"):
        list(read_path(tmp_path))
    with pytest.raises(InputError, match="does not exist"):
        list(read_path(tmp_path / "missing.csv"))
