"""One schema per home: inference, conform (clamp, unknown, drift), versions on disk."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from emily.core import InputError, ManualClock
from emily.instinct import CategoricalFeature, NumericFeature, StimulusEncoder, StimulusSchema
from emily.runtime.schema_store import (
    UNKNOWN,
    ConformStats,
    HomeSchema,
    SchemaStore,
    category_text,
    conform,
    infer_home_schema,
)
from emily.runtime.stimuli import Stimulus


def _records(*rows: dict[str, float | str]) -> list[Stimulus]:
    return [Stimulus(id=f"s{i}", features=row, label="a") for i, row in enumerate(rows)]


def _infer(stimuli: list[Stimulus], **kwargs: object) -> HomeSchema:
    options: dict[str, object] = {"name": "wine", "source": "train.csv", "clock": ManualClock()}
    return infer_home_schema(stimuli, **{**options, **kwargs})  # type: ignore[arg-type]


@pytest.fixture
def schema() -> HomeSchema:
    return _infer(
        _records(
            {"x": 0.0, "colour": "red", "grade": 1.0},
            {"x": 10.0, "colour": "blue", "grade": "A"},
        )
    )


def test_numeric_ranges_widen_by_ten_percent_of_the_span(schema: HomeSchema) -> None:
    assert schema.features is not None
    assert schema.features.features["x"] == NumericFeature(low=-1.0, high=11.0)
    assert (schema.kind, schema.version, schema.label_column) == ("records", 1, "label")
    assert schema.reflex_table == "reflexes_wine_v1"


def test_a_column_with_any_text_is_categorical_with_unknown(schema: HomeSchema) -> None:
    assert schema.features is not None
    assert schema.features.features["colour"] == CategoricalFeature(
        categories=("blue", "red", UNKNOWN)
    )
    assert schema.features.features["grade"] == CategoricalFeature(categories=("1", "A", UNKNOWN))


@pytest.mark.parametrize("value", [0.0, 5.0, -3.25, 1e12, 1e-300])
def test_a_constant_column_still_encodes(value: float) -> None:
    schema = _infer(_records({"c": value}, {"c": value}))
    assert schema.features is not None
    spec = schema.features.features["c"]
    assert isinstance(spec, NumericFeature)
    assert spec.low < value < spec.high
    encoder = StimulusEncoder(schema.features, dim=256)
    assert encoder.encode({"c": value}).shape == (32,)


def test_a_range_near_the_float_limits_is_kept_as_observed() -> None:
    schema = _infer(_records({"c": -1.5e308}, {"c": 1.5e308}))
    assert schema.features is not None
    assert schema.features.features["c"] == NumericFeature(low=-1.5e308, high=1.5e308)


def test_texts_give_a_text_schema_and_sample_limits_what_is_read() -> None:
    texts = [Stimulus(id=str(i), text=f"hot stove {i}") for i in range(3)]
    schema = _infer(texts)
    assert (schema.kind, schema.features) == ("text", None)
    seen = _infer(_records({"x": 1.0}, {"x": 2.0}, {"x": 100.0}), sample=2)
    assert seen.features is not None
    assert seen.features.features["x"] == NumericFeature(low=0.9, high=2.1)


@pytest.mark.parametrize(
    ("stimuli", "message"),
    [
        ([], "train.csv: no stimuli"),
        (
            [Stimulus(id="t", text="x"), Stimulus(id="r", features={"x": 1.0})],
            "mixes texts and feature records",
        ),
        (
            _records({"x": 1.0, "y": 2.0}, {"x": 1.0, "z": 2.0}),
            r"stimulus 's1' has columns .* \(extra \['z'\], missing \['y'\]\)",
        ),
    ],
)
def test_inference_refuses_what_no_schema_fits(stimuli: list[Stimulus], message: str) -> None:
    with pytest.raises(InputError, match=message):
        _infer(stimuli)


def test_a_name_that_cannot_name_a_table_is_an_input_error() -> None:
    with pytest.raises(InputError, match="schema name 'my wine'"):
        _infer(_records({"x": 1.0}), name="my wine")


def test_home_schema_validates_what_it_stores(schema: HomeSchema) -> None:
    fields = dict(schema)
    with pytest.raises(ValidationError, match="timezone"):
        HomeSchema(**{**fields, "created_at": datetime(2026, 1, 1)})
    with pytest.raises(ValidationError, match="'text' schema has no features"):
        HomeSchema(**{**fields, "kind": "text"})
    closed = StimulusSchema(features={"c": CategoricalFeature(categories=("a",))})
    with pytest.raises(ValidationError, match="lacks the '<unknown>' category"):
        HomeSchema(**{**fields, "features": closed})


def test_conform_returns_a_fitting_stimulus_unchanged(schema: HomeSchema) -> None:
    stimulus = Stimulus(id="t", features={"x": 10.0, "colour": "red", "grade": "A"})
    result = conform(stimulus, schema)
    assert result.stimulus is stimulus
    assert (result.clamped, result.unknown) == ((), ())


def test_conform_clamps_numbers_and_maps_unseen_categories(schema: HomeSchema) -> None:
    stimulus = Stimulus(id="t", features={"x": 50.0, "colour": "green", "grade": 1.0}, label="b")
    result = conform(stimulus, schema)
    assert result.stimulus.features == {"x": 11.0, "colour": UNKNOWN, "grade": "1"}
    assert (result.clamped, result.unknown) == (("x",), ("colour",))
    assert result.stimulus.label == "b"
    assert stimulus.features == {"x": 50.0, "colour": "green", "grade": 1.0}  # not edited
    low = conform(Stimulus(id="u", features={"x": -5.0, "colour": "red", "grade": "A"}), schema)
    assert low.stimulus.features == {"x": -1.0, "colour": "red", "grade": "A"}
    assert schema.features is not None
    StimulusEncoder(schema.features, dim=256).encode_many(
        [result.stimulus.payload, low.stimulus.payload]  # type: ignore[list-item]
    )


def test_drift_is_one_error_naming_every_column_and_the_way_out(schema: HomeSchema) -> None:
    stimulus = Stimulus(id="t", features={"x": "high", "colour": "red", "depth": 3.0})
    with pytest.raises(InputError) as caught:
        conform(stimulus, schema, where="test.csv:7")
    message = str(caught.value)
    assert message.startswith("test.csv:7: does not match home schema wine v1")
    assert "new column(s) ['depth']" in message
    assert "missing column(s) ['grade']" in message
    assert "text where the schema expects a number: x='high'" in message
    assert "emily schema infer FILE --new-version` makes v2" in message
    assert "reflexes learned under v1 stay in table reflexes_wine_v1" in message


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ({"x": 1.0, "colour": "red"}, r"missing column\(s\) \['grade'\]"),
        ({"x": 1.0, "colour": "red", "grade": "A", "y": 1.0}, r"new column\(s\) \['y'\]"),
        ({"x": "", "colour": "red", "grade": "A"}, "expects a number: x=''"),
    ],
)
def test_each_kind_of_drift_alone(
    schema: HomeSchema, features: dict[str, float | str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        conform(Stimulus(id="t", features=features), schema)


def test_texts_and_records_do_not_cross(schema: HomeSchema) -> None:
    with pytest.raises(InputError, match=r"stimulus 't': has a text, but .* expects feature"):
        conform(Stimulus(id="t", text="hello"), schema)
    texts = _infer([Stimulus(id="a", text="hello")])
    assert conform(Stimulus(id="t", text="bye"), texts).stimulus.text == "bye"
    with pytest.raises(InputError, match=r"has features, but .* expects texts"):
        conform(Stimulus(id="r", features={"x": 1.0}), texts)


def test_conform_stats_count_per_feature(schema: HomeSchema) -> None:
    stats = ConformStats()
    for x, colour in [(50.0, "green"), (60.0, "red"), (5.0, "pink"), (5.0, "red")]:
        features: dict[str, float | str] = {"x": x, "colour": colour, "grade": "A"}
        stats.add(conform(Stimulus(id="t", features=features), schema))
    assert stats.as_dict() == {"records": 4, "clamped": {"x": 2}, "unknown": {"colour": 2}}
    assert stats.summary() == (
        "4 records conformed; clamped to the schema's range: x 2; "
        f"unseen categories (→ {UNKNOWN}): colour 2"
    )
    assert ConformStats().summary() == "0 records conformed; every value within the schema"


def test_category_text_of_numbers() -> None:
    assert [category_text(v) for v in (1.0, -2.0, 0.5, "1.0")] == ["1", "-2", "0.5", "1.0"]


def test_store_saves_versions_and_points_at_the_current_one(
    tmp_path: Path, schema: HomeSchema
) -> None:
    store = SchemaStore(tmp_path)
    assert store.current() is None
    assert store.versions() == []
    assert store.next_version("wine") == 1
    assert store.save(schema) == schema
    assert store.current() == schema
    second = _infer(_records({"x": 1.0}), version=store.next_version("wine"))
    store.save(second)
    assert store.current() == second
    assert second.reflex_table == "reflexes_wine_v2"
    assert [s.version for s in store.versions()] == [1, 2]
    assert store.load("wine", 1) == schema
    assert sorted(p.name for p in (tmp_path / "schema").iterdir()) == [
        "current.json",
        "wine.v1.json",
        "wine.v2.json",
    ]


def test_calibration_fills_in_the_same_version(tmp_path: Path, schema: HomeSchema) -> None:
    store = SchemaStore(tmp_path)
    store.save(schema)
    calibrated = schema.with_calibration(0.62, {"method": "holdout", "accuracy": 0.9, "n": 40})
    assert (calibrated.version, calibrated.reflex_table) == (1, schema.reflex_table)
    store.save(calibrated)
    current = store.current()
    assert current is not None
    assert current.threshold == 0.62
    assert current.calibration == {"method": "holdout", "accuracy": 0.9, "n": 40}
    assert [s.version for s in store.versions()] == [1]


def test_a_saved_version_never_changes_its_features(tmp_path: Path, schema: HomeSchema) -> None:
    store = SchemaStore(tmp_path)
    store.save(schema)
    before = store.path("wine", 1).read_bytes()
    other = _infer(_records({"y": 1.0}))
    with pytest.raises(InputError, match=r"wine v1 already exists with other features.* version 2"):
        store.save(other)
    assert store.path("wine", 1).read_bytes() == before


def test_a_crash_mid_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, schema: HomeSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SchemaStore(tmp_path)
    store.save(schema)
    before = sorted((p.name, p.read_bytes()) for p in store.folder.iterdir())

    def crash(*_: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.save(schema.with_calibration(0.5, {}))
    assert sorted((p.name, p.read_bytes()) for p in store.folder.iterdir()) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable home schema file .*Invalid JSON"),
        ('{"name": "wine"}', "not a readable home schema file .*version: Field required"),
    ],
)
def test_a_corrupt_file_is_an_input_error_naming_it(
    tmp_path: Path, schema: HomeSchema, content: str, message: str
) -> None:
    store = SchemaStore(tmp_path)
    store.save(schema)
    store.path("wine", 1).write_text(content)
    with pytest.raises(InputError, match=f"{store.path('wine', 1)}: {message}"):
        store.current()


def test_a_dangling_pointer_or_a_mislabelled_file_is_an_input_error(
    tmp_path: Path, schema: HomeSchema
) -> None:
    store = SchemaStore(tmp_path)
    store.save(schema)
    store.path("wine", 1).rename(store.path("wine", 3))
    with pytest.raises(InputError, match=r"names schema wine v1, but .*wine.v1.json is missing"):
        store.current()
    with pytest.raises(InputError, match="holds schema wine v1; expected wine v3"):
        store.versions()
    (store.folder / "current.json").write_text(json.dumps({"name": "wine"}))
    with pytest.raises(InputError, match=r"current.json: not a readable home schema file"):
        store.current()
