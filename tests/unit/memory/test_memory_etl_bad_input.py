"""``emily ingest``'s check of a file: every malformed input is one ``InputError`` line.

No Prefect here: :func:`emily.memory.etl.check` runs before the flow, so what it refuses never
reaches the temporary server (whose failed runs print tracebacks).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emily.core import InputError, ManualClock
from emily.memory import etl

BINARY = bytes(range(256)) * 8


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.json", '{"a": 1', r"bad\.json is not valid JSON \(Expecting ',' delimiter at line 1"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests JSON too deeply"),
        ("line.jsonl", '{"text": "a"}\n{"text": \n', r"line\.jsonl:2 is not valid JSON"),
        ("bin.jsonl", BINARY, r"bin\.jsonl is not UTF-8 text \(byte 0x80 at offset 128\)"),
        ("bin.json", BINARY, "is not UTF-8 text"),
        ("bin.csv", BINARY, "is not UTF-8 text"),
        ("long.csv", 'text\n"' + "x" * 200_000 + '"\n', r"long\.csv:\d+ is not CSV \(field larger"),
        ("extra.csv", "id,text\n1,a,EXTRA\n", "row 2 has 3 cells but the header has 2"),
        ("bin.parquet", BINARY, r"bin\.parquet is not a (readable )?Parquet file"),
        ("fake.parquet", b"PAR1" + b"\x00" * 64 + b"\x10\x00\x00\x00PAR1", "Parquet file"),
        ("empty.jsonl", "\n\n", "holds no records; expected at least one"),
        ("empty.json", "[]", "holds no records"),
        ("header.csv", "id,text\n", "holds no records"),
        ("scalar.json", "42", "must hold a list of objects"),
        ("mixed.jsonl", '{"text": "a"}\n[1, 2]\n', "must hold a list of objects"),
        ("nan.jsonl", '{"id": "n", "values": [NaN, 1]}\n', "'n' holds NaN or an infinity"),
        ("inf.json", '[{"id": "i", "values": [Infinity]}]', "NaN or an infinity"),
        ("huge.json", '[{"id": "h", "values": [1e999]}]', "NaN or an infinity"),
        ("bigint.json", '[{"id": "b", "values": [' + "9" * 400 + "]}]", "NaN or an infinity"),
        ("text.jsonl", '{"id": "t", "values": ["a", "b"]}\n', "expected a list of numbers"),
        ("bool.jsonl", '{"id": "t", "values": [true]}\n', "expected a list of numbers"),
        ("scalar.jsonl", '{"id": "s", "values": 5}\n', r"'s' is 5; expected a list of numbers"),
        ("object.jsonl", '{"id": "o", "values": {"a": 1}}\n', "expected a list of numbers"),
        ("cell.csv", 'id,values\nc,"[1, x]"\n', "values of record 'c' is not valid JSON"),
        ("nancell.csv", 'id,values\nc,"[NaN]"\n', "NaN or an infinity"),
        ("words.csv", "id,values\nc,abc\n", "is not valid JSON"),
    ],
)
def test_malformed_files_are_one_input_error(
    tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(InputError, match=expected) as caught:
        etl.check(path, ManualClock())
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("ingest: ")


def test_missing_and_folder_paths_say_which(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"missing\.jsonl is not a file \(it does not exist\); expected a \.jsonl"
    ):
        etl.check(tmp_path / "missing.jsonl", ManualClock())
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match=r"dir\.csv is not a file \(it is a folder\)"):
        etl.check(tmp_path / "dir.csv", ManualClock())


def test_good_files_pass_with_their_numbers(tmp_path: Path) -> None:
    rows = [{"id": "1", "text": "a", "values": [0.5, 2]}, {"id": "2", "values": []}]
    jsonl = _write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    csv = _write(tmp_path / "a.csv", 'id,text,values\n1,a,"[0.5, 2]"\n2,b,\n3,c\n')
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    assert etl.check(jsonl, ManualClock()) == 2
    assert etl.check(csv, ManualClock()) == 3  # a short row's missing cells are empty
    assert etl.check(tmp_path / "a.parquet", ManualClock()) == 2
    pairs = [etl.to_record(r, "a.jsonl", ManualClock()) for r in etl.read_records(jsonl)]
    assert [values for _, values in pairs] == [[0.5, 2.0], None]
