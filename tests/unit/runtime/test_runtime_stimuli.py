from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from emily.core import InputError
from emily.runtime.stimuli import (
    Stimulus,
    demo_dataset,
    demo_stream,
    parse_stimuli,
    read_csv,
    read_jsonl,
    read_path,
)


def test_jsonl_records_and_texts() -> None:
    stimuli = parse_stimuli(
        '{"id": "a", "features": {"x": 1.5, "colour": "red"}, "label": "go"}\n'
        "\n"
        '{"id": "b", "text": "hot stove", "salience": 2}\n'
    )
    assert [s.id for s in stimuli] == ["a", "b"]
    assert stimuli[0].payload == {"x": 1.5, "colour": "red"}
    assert stimuli[1].payload == "hot stove"
    assert stimuli[1].salience == 2.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "<text>:1: not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "a"}', "exactly one of 'features' or 'text'"),
        ('{"id": "a", "text": "x", "features": {"y": 1}}', "exactly one of"),
        ('{"id": "a", "features": {}}', "'features' is empty"),
        ('{"id": "a", "features": {"y": NaN}}', "NaN or infinite"),
        ('{"id": "a", "text": "x", "salience": -1}', "salience"),
        ('{"id": "", "text": "x"}', "id"),
        ('{"id": "a", "text": "x", "mood": "odd"}', "mood"),
    ],
)
def test_bad_records_name_the_line_and_the_problem(line: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_stimuli(line)


def test_csv_with_features_and_reserved_columns() -> None:
    text = "id,salience,label,x,colour\na,0.5,go,1.25,red\nb,,stop,2,blue\n"
    first, second = read_csv(io.StringIO(text))
    assert first.features == {"x": 1.25, "colour": "red"}
    assert first.salience == 0.5
    assert second.salience == 1.0
    assert second.label == "stop"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty; expected a header row"),
        ("id,salience,x\na,loud,1\n", "<csv>:2: salience: 'loud' is not a number; expected"),
        ("id,x,y\na,1\n", "<csv>:2: the row has 2 cells but the header has 3"),
        ("id,x\na,1\nb,1,2\n", "<csv>:3: the row has 3 cells but the header has 2"),
        ("id,x,x\na,1,2\n", r"columns \['x'\] appear twice"),
        ("id,x\n,1\n", "<csv>:2: invalid stimulus .*id"),
    ],
)
def test_bad_csv(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        list(read_csv(io.StringIO(text)))


def test_read_path_by_suffix(tmp_path: Path) -> None:
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text('{"id": "a", "text": "x"}\n')
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("id,x\na,1\n")
    assert [s.id for s in read_path(jsonl)] == ["a"]
    assert [s.id for s in read_path(csv_file)] == ["a"]
    with pytest.raises(InputError, match="does not exist"):
        list(read_path(tmp_path / "missing.jsonl"))
    other = tmp_path / "s.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="unknown stimulus format"):
        list(read_path(other))


def test_demo_stream_is_seeded_and_within_the_data_range() -> None:
    dataset = demo_dataset()
    assert len(dataset.rows) == 178
    assert set(dataset.labels) == {"class_0", "class_1", "class_2"}
    first = list(demo_stream(dataset, seed=3, limit=20))
    again = list(demo_stream(dataset, seed=3, limit=20))
    assert first == again
    assert all(isinstance(s, Stimulus) and s.label in dataset.labels for s in first)
    for stimulus in first:
        assert stimulus.features is not None
        for name, low, high in zip(dataset.feature_names, dataset.low, dataset.high, strict=True):
            assert low <= float(stimulus.features[name]) <= high


def test_csv_without_id_numbers_data_rows_and_skips_blank_lines() -> None:
    stimuli = list(read_csv(io.StringIO("x,y\n1,2\n\n3,4\n")))
    assert [s.id for s in stimuli] == ["row-1", "row-2"]
    assert stimuli[1].features == {"x": 3.0, "y": 4.0}


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {"alcohol": [14.2, 13.2, 12.4], "hue": [1.04, 1.05, 0.93], "target": [0, 0, 2]},
        index=[10, 11, 12],
    )
    return frame


def test_pandas_csv_index_column_gives_ids_and_target_the_labels(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    _frame().to_csv(path)
    assert path.read_text().startswith(",alcohol,hue,target")
    stimuli = list(read_path(path, label="target"))
    assert [s.id for s in stimuli] == ["10", "11", "12"]
    assert [s.label for s in stimuli] == ["0", "0", "2"]
    assert stimuli[0].features == {"alcohol": 14.2, "hue": 1.04}


def test_pandas_csv_without_index_and_with_an_id_column(tmp_path: Path) -> None:
    bare, with_id = tmp_path / "bare.csv", tmp_path / "with_id.csv"
    _frame().to_csv(bare, index=False)
    _frame().assign(id=["a", "b", "c"]).to_csv(with_id)
    assert [s.id for s in read_path(bare, label="target")] == ["row-1", "row-2", "row-3"]
    named = list(read_path(with_id, label="target"))
    assert [s.id for s in named] == ["a", "b", "c"]
    assert named[0].features == {"alcohol": 14.2, "hue": 1.04}


def test_reread_pandas_index_column_unnamed_is_never_a_feature() -> None:
    text = "Unnamed: 0,x,label\n7,1.5,go\n"
    (stimulus,) = read_csv(io.StringIO(text))
    assert stimulus.id == "7"
    assert stimulus.features == {"x": 1.5}
    assert stimulus.label == "go"


def test_default_label_keeps_target_a_feature_and_two_labels_are_refused() -> None:
    (stimulus,) = read_csv(io.StringIO("x,target\n1,0\n"))
    assert stimulus.features == {"x": 1.0, "target": 0.0}
    assert stimulus.label is None
    with pytest.raises(InputError, match="both 'label' and 'target' columns"):
        list(read_csv(io.StringIO("x,label,target\n1,a,0\n"), label="target"))
    with pytest.raises(InputError, match="<text>:1: both 'label' and 'target'"):
        parse_stimuli('{"id": "a", "text": "x", "label": "a", "target": 0}', label="target")


@pytest.mark.parametrize(
    ("json_label", "csv_label", "expected"),
    [("0", "0", "0"), ("1.0", "1.0", "1"), ("-3", "-3.00", "-3"), ("0.5", "0.5", "0.5"),
     ('"007"', "007", "007"), ('"cat"', "cat", "cat")],
)  # fmt: skip
def test_labels_read_the_same_from_jsonl_and_csv(
    json_label: str, csv_label: str, expected: str
) -> None:
    (from_json,) = parse_stimuli(
        f'{{"id": "a", "features": {{"x": 1}}, "target": {json_label}}}', label="target"
    )
    (from_csv,) = read_csv(io.StringIO(f"id,x,target\na,1,{csv_label}\n"), label="target")
    assert from_json.label == from_csv.label == expected


@pytest.mark.parametrize("bad", ["true", "[1]", "{}"])
def test_labels_that_are_neither_text_nor_number_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match=r"<text>:1: label is .* expected a string or a finite"):
        parse_stimuli(f'{{"id": "a", "text": "x", "label": {bad}}}')


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1718000000.5", 1718000000.5),
        ("17", 17.0),
        ('"2024-06-10T06:13:20Z"', 1718000000.0),
        ('"2024-06-10T08:13:20+02:00"', 1718000000.0),
        ('"1718000000"', 1718000000.0),
    ],
)
def test_jsonl_timestamps_are_posix_seconds(value: str, seconds: float) -> None:
    (stimulus,) = parse_stimuli(f'{{"id": "a", "text": "x", "timestamp": {value}}}')
    assert stimulus.timestamp == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"2024-06-10T06:13:20"', "<text>:1: timestamp '2024-06-10T06:13:20' has no timezone"),
        ('"yesterday"', "<text>:1: timestamp 'yesterday' is neither POSIX seconds nor"),
        ("true", "<text>:1: timestamp is bool"),
        ('"nan"', "<text>:1: invalid stimulus .*timestamp"),
    ],
)
def test_bad_timestamps_name_the_line(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_stimuli(f'{{"id": "a", "text": "x", "timestamp": {value}}}')


def test_csv_timestamp_column_is_not_a_feature() -> None:
    text = "id,timestamp,x\na,2024-06-10T06:13:20+00:00,1\nb,,2\nc,1718000000,3\n"
    a, b, c = read_csv(io.StringIO(text))
    assert a.timestamp == c.timestamp == 1718000000.0
    assert b.timestamp is None
    assert a.features == {"x": 1.0}
    with pytest.raises(InputError, match="<csv>:2: timestamp '2024-06-10' has no timezone"):
        list(read_csv(io.StringIO("id,timestamp,x\na,2024-06-10,1\n")))


def test_a_byte_order_mark_does_not_rename_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("id,x\na,1\n".encode("utf-8-sig"))
    (stimulus,) = read_path(path)
    assert (stimulus.id, stimulus.features) == ("a", {"x": 1.0})


def test_flat_json_lines_read_like_csv_rows() -> None:

    frame = pd.DataFrame({"x": [0.5, 1.0], "colour": ["red", "blue"], "target": [0, 1]})
    text = frame.to_json(orient="records", lines=True)
    stimuli = list(read_jsonl(text.splitlines(), "flat.jsonl", label="target"))
    assert [s.id for s in stimuli] == ["row-1", "row-2"]
    assert stimuli[0].features == {"x": 0.5, "colour": "red"}
    assert [s.label for s in stimuli] == ["0", "1"]
    with pytest.raises(InputError, match=r"flat.jsonl:1"):
        list(read_jsonl(['{"x": [1, 2]}'], "flat.jsonl"))
