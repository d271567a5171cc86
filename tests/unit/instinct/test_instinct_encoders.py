"""Encoders: records, levels and texts become one deterministic packed vector; bad input fails."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from emily.instinct import (
    CategoricalFeature,
    NumericFeature,
    SchemaDriftError,
    StimulusEncoder,
    StimulusSchema,
)
from emily.instinct._codebook import ItemMemory, LevelCodebook
from emily.instinct._errors import EmptyStimulusError, NonFiniteValueError, UnknownFeatureError
from emily.instinct._hdc import bind, similarity

D = 10_000
SCHEMA = StimulusSchema(
    features={
        "temperature": NumericFeature(low=-20.0, high=60.0, levels=81),
        "source": CategoricalFeature(categories=("stove", "sun", "ice")),
        "label": CategoricalFeature(),
    }
)


@pytest.fixture
def encoder() -> StimulusEncoder:
    return StimulusEncoder(SCHEMA, dim=D, seed=3)


def test_record_encoding_is_deterministic_across_instances(encoder: StimulusEncoder) -> None:
    stimulus = {"temperature": 21.5, "source": "sun", "label": "warm"}
    other = StimulusEncoder(SCHEMA, dim=D, seed=3)
    assert np.array_equal(encoder.encode(stimulus), other.encode(stimulus))
    assert encoder.fingerprint == other.fingerprint
    assert encoder.encode(stimulus).shape == (D // 8,)


def test_seed_and_schema_change_the_vectors_and_fingerprint(encoder: StimulusEncoder) -> None:
    stimulus = {"temperature": 21.5, "source": "sun", "label": "warm"}
    reseeded = StimulusEncoder(SCHEMA, dim=D, seed=4)
    assert similarity(encoder.encode(stimulus), reseeded.encode(stimulus), D) < 0.6
    assert reseeded.fingerprint != encoder.fingerprint
    assert StimulusEncoder(dim=D, seed=3).fingerprint != encoder.fingerprint


def test_similar_records_are_similar_and_different_ones_are_not(encoder: StimulusEncoder) -> None:
    base = encoder.encode({"temperature": 20.0, "source": "sun", "label": "warm"})
    near = encoder.encode({"temperature": 22.0, "source": "sun", "label": "warm"})
    far = encoder.encode({"temperature": 55.0, "source": "stove", "label": "burn"})
    assert similarity(base, near, D) > 0.9
    assert similarity(base, far, D) < 0.7


def test_unbinding_a_key_recovers_a_noisy_copy_of_its_value(encoder: StimulusEncoder) -> None:
    record = encoder.encode({"temperature": 20.0, "source": "ice", "label": "x"})
    keys = ItemMemory(D, 3, "feature")
    values = ItemMemory(D, 3, "category")
    recovered = bind(record, keys["source"])
    scores = {c: similarity(recovered, values[f"source={c}"], D) for c in ("stove", "sun", "ice")}
    assert max(scores, key=lambda c: scores[c]) == "ice"
    assert scores["ice"] > 0.7


def test_level_resolution_is_documented_and_levels_are_linear() -> None:
    levels = LevelCodebook(D, 0.0, 1.0, 11, seed=1, label="x")
    assert levels.resolution == pytest.approx(0.1)
    assert np.array_equal(levels(0.31), levels(0.29))  # same level within the resolution
    assert similarity(levels(0.0), levels(1.0), D) == pytest.approx(0.5)
    assert similarity(levels(0.0), levels(0.5), D) == pytest.approx(0.75)
    assert np.array_equal(levels(-5.0), levels(0.0))  # saturates outside the range
    assert StimulusEncoder(SCHEMA, dim=D).level_resolution("temperature") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "error"),
    [((1.0, 0.0, 4), NonFiniteValueError), ((0.0, math.inf, 4), NonFiniteValueError),
     ((-1e308, 1e308, 4), NonFiniteValueError), ((0.0, 1.0, 1), ValueError),
     ((0.0, 1.0, 10_000), ValueError)],
)  # fmt: skip
def test_level_codebook_refuses_bad_ranges(args: tuple[float, float, int], error: type) -> None:
    with pytest.raises(error):
        LevelCodebook(D, *args)


def test_texts_sharing_ngrams_are_similar() -> None:
    enc = StimulusEncoder(dim=D)
    a = enc.encode("the stove is hot")
    assert np.array_equal(a, StimulusEncoder(dim=D).encode("the stove is hot"))
    assert similarity(a, enc.encode("the stove is hot!"), D) > 0.85
    assert similarity(a, enc.encode("quiet library"), D) < 0.6
    assert similarity(enc.encode("ab"), enc.encode("ba"), D) < 0.6  # order matters
    assert enc.encode("a").shape == (D // 8,)


@pytest.mark.parametrize(
    ("stimulus", "error", "message"),
    [
        ({}, EmptyStimulusError, "empty stimulus"),
        ("", EmptyStimulusError, "empty text"),
        ({"temperature": 1.0, "source": "sun"}, SchemaDriftError, "missing \\['label'\\]"),
        ({"temperature": 1.0, "source": "sun", "label": "x", "extra": 1}, SchemaDriftError,
         "unexpected \\['extra'\\]"),
        ({"temperature": math.nan, "source": "sun", "label": "x"}, NonFiniteValueError, "nan"),
        ({"temperature": -math.inf, "source": "sun", "label": "x"}, NonFiniteValueError, "inf"),
        ({"temperature": "hot", "source": "sun", "label": "x"}, UnknownFeatureError, "numeric"),
        ({"temperature": True, "source": "sun", "label": "x"}, UnknownFeatureError, "numeric"),
        ({"temperature": 1.0, "source": "moon", "label": "x"}, UnknownFeatureError, "moon"),
        ({"temperature": 1.0, "source": 3, "label": "x"}, UnknownFeatureError, "categorical"),
        (42, UnknownFeatureError, "mapping of features or a text"),
    ],
)  # fmt: skip
def test_bad_stimuli_raise_specific_errors(
    encoder: StimulusEncoder, stimulus: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        encoder.encode(stimulus)  # type: ignore[arg-type]


def test_the_first_invalid_feature_in_name_order_raises(encoder: StimulusEncoder) -> None:
    # name order: label, source, temperature; each record breaks two or three of them
    with pytest.raises(UnknownFeatureError, match="moon"):
        encoder.encode({"temperature": math.nan, "source": "moon", "label": "x"})
    with pytest.raises(UnknownFeatureError, match="'label' is categorical"):
        encoder.encode({"temperature": "hot", "source": 3, "label": 5})
    with pytest.raises(UnknownFeatureError, match="numeric"):  # the second record of a batch
        encoder.encode_many([{"temperature": 1.0, "source": "sun", "label": "x"},
                             {"temperature": True, "source": "sun", "label": "x"}])  # fmt: skip


def test_encodings_are_pinned(encoder: StimulusEncoder) -> None:
    """Bits and fingerprint as encoded before the counting fast path (a change would orphan
    every stored reflex)."""
    pins = {21.5: ("sun", "warm", "0ee6fe8a134963a7"), 99.0: ("ice", "x", "f3c5465d545e0733")}
    for temperature, (source, label, digest) in pins.items():
        hv = encoder.encode({"temperature": temperature, "source": source, "label": label})
        assert hashlib.sha256(hv.tobytes()).hexdigest()[:16] == digest
    assert encoder.fingerprint == "bsc-v2-10000-fb585b3229d0e7e2"
    assert encoder.encode_many([]).shape == (0, D // 8)


def test_an_open_vocabulary_keeps_a_bounded_cache() -> None:
    enc = StimulusEncoder(SCHEMA, dim=D, seed=3, cache_size=8)
    first = enc.encode({"temperature": 1.0, "source": "sun", "label": "w0"})
    for i in range(40):
        enc.encode({"temperature": 1.0, "source": "sun", "label": f"w{i}"})
    assert enc._category_part.cache_info().currsize == 8  # type: ignore[attr-defined]
    assert len(enc._values) == 0  # derived afresh, not kept by the item memory
    assert np.array_equal(enc.encode({"temperature": 1.0, "source": "sun", "label": "w0"}), first)


def test_numeric_parts_take_the_level_codebooks_bytes() -> None:
    enc = StimulusEncoder(SCHEMA, dim=D)
    assert enc._bound.table.nbytes == 81 * D // 8  # one packed row per level, nothing more


def test_a_text_only_encoder_refuses_records() -> None:
    with pytest.raises(SchemaDriftError, match="texts only"):
        StimulusEncoder(dim=D).encode({"a": 1.0})
    with pytest.raises(ValueError, match="ngram"):
        StimulusEncoder(dim=D, ngram=0)


def test_numpy_numbers_are_accepted(encoder: StimulusEncoder) -> None:
    class Tag(str):
        pass

    a = encoder.encode({"temperature": np.float32(20.0), "source": "sun", "label": "w"})
    b = encoder.encode({"temperature": 20, "source": "sun", "label": "w"})
    c = encoder.encode({"temperature": np.int64(20), "source": Tag("sun"), "label": Tag("w")})
    assert np.array_equal(a, b)
    assert np.array_equal(a, c)


def test_item_memory_vectors_are_read_only() -> None:
    items = ItemMemory(64, 0)
    hv = items["a"]
    assert len(items) == 1
    with pytest.raises(ValueError, match="read-only"):
        hv[0] = 1


def test_text_encodings_are_pinned() -> None:
    """Bits of text encodings as before the bounded caches (a change would orphan reflexes)."""
    enc = StimulusEncoder(dim=D, seed=3)
    pins = {
        "hello world": "fba86025ad379d9e",
        "ab": "8a89b648dee9835c",
        "x": "b4248451286c3220",
        "naïve ☃ text " * 40: "0bf9a6d12e1bbec9",
    }
    got = {t: hashlib.sha256(enc.encode_text(t).tobytes()).hexdigest()[:16] for t in pins}
    assert got == pins
