from __future__ import annotations

import io
from pathlib import Path

import pytest

from emily.core import InputError
from emily.runtime.stimuli import (
    Stimulus,
    demo_dataset,
    demo_stream,
    parse_stimuli,
    read_csv,
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
        ("x,y\n1,2\n", "'id' column"),
        ("id,salience,x\na,loud,1\n", "'loud' is not a number"),
        ("id,x,y\na,1\n", "fewer cells"),
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
