"""The record encoder's fast path gives exactly the bits of bundling ``key XOR value`` parts.

``StimulusEncoder`` counts bits from gathered :class:`BoundLevels` rows and breaks ties from the
counts' parity instead of forming each part and calling :func:`bundle`; these properties pin it
to the part-by-part reference over random schemas: numeric and categorical (closed and open)
features, odd and even counts (even ones tie), values out of range, on level boundaries and
halfway between levels, ints and NumPy scalars. The level formula and the level tables are
checked against the scalar and flip-by-flip forms they replaced.
"""

from __future__ import annotations

import math
from unittest.mock import patch

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from emily.instinct import (
    CategoricalFeature,
    NumericFeature,
    StimulusEncoder,
    StimulusSchema,
    _encoders,
)
from emily.instinct._codebook import ItemMemory, LevelCodebook, level_index
from emily.instinct._hdc import bundle, random_hv, seeded_rng

DIMS = st.sampled_from([8, 64, 256, 1024, 10_000])
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


def reference(schema: StimulusSchema, dim: int, seed: int, record: dict[str, object]) -> np.ndarray:
    """A record encoded part by part: ``bundle`` of ``key XOR value`` in name order."""
    keys, items = ItemMemory(dim, seed, "feature"), ItemMemory(dim, seed, "category")
    parts = []
    for name, spec in sorted(schema.features.items()):
        if isinstance(spec, NumericFeature):
            levels = LevelCodebook(dim, spec.low, spec.high, spec.levels, seed=seed, label=name)
            value = levels(float(record[name]))  # type: ignore[arg-type]
        else:
            value = items[f"{name}={record[name]}"]
        parts.append(keys[name] ^ value)
    return bundle(np.stack(parts), dim)


@st.composite
def numeric_values(draw: st.DrawFn, spec: NumericFeature) -> object:
    """Inside, outside, on a level, halfway between two levels; as float, int or NumPy scalar."""
    width = spec.high - spec.low
    step = width / (spec.levels - 1)
    i = draw(st.integers(0, spec.levels - 1))
    value = draw(
        st.one_of(
            st.floats(spec.low - 2 * width, spec.high + 2 * width),
            st.just(spec.low + i * step),
            st.just(spec.low + (i + 0.5) * step),
            st.integers(-10, 10).map(float),
        )
    )
    form = draw(st.sampled_from(["float", "int", "float32", "float64"]))
    if form == "int" and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return {"float32": np.float32, "float64": np.float64}.get(form, float)(value)


@st.composite
def cases(draw: st.DrawFn) -> tuple[StimulusSchema, int, int, list[dict[str, object]]]:
    dim = draw(DIMS)
    features: dict[str, NumericFeature | CategoricalFeature] = {}
    for j in range(draw(st.integers(1, 12))):
        name = draw(st.text("xyz", max_size=2)) + str(j)  # names sort apart from their order
        kind = draw(st.sampled_from(["numeric", "numeric", "closed", "open"]))
        if kind == "numeric":
            low, high = sorted(draw(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2)))
            assume(low < high)
            levels = draw(st.integers(2, min(300, dim // 2 + 1)))
            features[name] = NumericFeature(low=low, high=high, levels=levels)
        elif kind == "closed":
            words = draw(st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=4))
            features[name] = CategoricalFeature(categories=tuple(dict.fromkeys(words)))
        else:
            features[name] = CategoricalFeature()
    records = []
    for _ in range(draw(st.integers(1, 5))):
        record: dict[str, object] = {}
        for name, spec in features.items():
            if isinstance(spec, NumericFeature):
                record[name] = draw(numeric_values(spec))
            elif spec.categories:
                record[name] = draw(st.sampled_from(spec.categories))
            else:
                record[name] = draw(st.text(max_size=4))
        records.append(record)
    return StimulusSchema(features=features), dim, draw(st.integers(0, 3)), records


@settings(deadline=None, max_examples=80)
@given(cases())
def test_encode_and_encode_many_equal_bundling_the_parts(
    case: tuple[StimulusSchema, int, int, list[dict[str, object]]],
) -> None:
    schema, dim, seed, records = case
    encoder = StimulusEncoder(schema, dim=dim, seed=seed)
    expected = np.stack([reference(schema, dim, seed, r) for r in records])
    assert np.array_equal(np.stack([encoder.encode(r) for r in records]), expected)
    assert np.array_equal(encoder.encode_many(records), expected)
    with patch.object(_encoders, "GATHER_BYTES", 1):  # one record per gathered chunk
        assert np.array_equal(encoder.encode_many(records), expected)


def test_records_of_more_than_255_features_count_past_a_byte() -> None:
    for n in (300, 301):  # even (ties) and odd
        schema = StimulusSchema(
            features={f"f{j}": NumericFeature(low=0.0, high=1.0, levels=8) for j in range(n)}
        )
        rng = np.random.default_rng(n)
        records: list[dict[str, object]] = [
            {f"f{j}": float(v) for j, v in enumerate(rng.random(n))} for _ in range(3)
        ]
        encoder = StimulusEncoder(schema, dim=64, seed=1)
        expected = np.stack([reference(schema, 64, 1, r) for r in records])
        assert np.array_equal(encoder.encode_many(records), expected)


@st.composite
def level_cases(draw: st.DrawFn) -> tuple[float, float, float, int]:
    low, high = sorted(draw(st.lists(st.floats(-1e300, 1e300), min_size=2, max_size=2)))
    assume(low < high and math.isfinite(high - low))
    levels = draw(st.integers(2, 513))
    i = draw(st.integers(0, levels - 1))
    step = (high - low) / (levels - 1)
    value = draw(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.just(low + (i + 0.5) * step),  # halfway: rounds half to even
            st.just(low + i * step),
        )
    )
    return value, low, high, levels


@given(st.lists(level_cases(), min_size=1, max_size=8))
def test_level_index_is_the_scalar_rounded_clipped_position(
    cases: list[tuple[float, float, float, int]],
) -> None:
    def scalar(value: float, low: float, high: float, levels: int) -> int:
        x = (value - low) / (high - low)
        return round(min(max(x, 0.0), 1.0) * (levels - 1))

    values, lows, highs, levels = (np.array(column) for column in zip(*cases, strict=True))
    batched = level_index(values, lows, highs, levels)
    for got, (value, low, high, n) in zip(batched, cases, strict=True):
        assert got == scalar(value, low, high, n) == LevelCodebook(1024, low, high, n).level(value)


@settings(deadline=None, max_examples=40)
@given(st.sampled_from([8, 64, 256, 1024]), st.integers(2, 513), SEEDS, st.text(max_size=5))
def test_level_tables_are_the_flip_by_flip_construction(
    dim: int, levels: int, seed: int, label: str
) -> None:
    levels = min(levels, dim // 2 + 1)
    codebook = LevelCodebook(dim, 0.0, 1.0, levels, seed=seed, label=label)
    rng = seeded_rng(seed, f"level/{label}")
    base = np.unpackbits(random_hv(dim, rng))
    order = rng.permutation(dim)
    flips = np.rint(np.arange(levels) * (dim / 2) / (levels - 1)).astype(np.int64)
    for i, k in enumerate(flips):
        bits = base.copy()
        bits[order[:k]] ^= 1
        assert np.array_equal(codebook.table[i], np.packbits(bits))
