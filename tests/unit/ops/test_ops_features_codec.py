"""The online-store byte layout we share with Feast 0.67 (values from Feast's own encoders)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from emily.core import InputError
from emily.ops.features import entity_key, murmur3_32, redis_field
from emily.ops.features._codec import (
    decode_number,
    decode_timestamp,
    encode_float,
    encode_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1009084850),
        ("abc", 3017643002),
        ("abcd", 1139631978),
        ("alpha_oscillation_features:alpha_power", 2499763033),
    ],
)
def test_murmur3_matches_mmh3(text: str, expected: int) -> None:
    assert murmur3_32(text.encode()) == expected


def test_redis_field_is_little_endian_hash() -> None:
    assert redis_field("alpha_oscillation_features", "alpha_power") == struct.pack("<I", 2499763033)


def test_entity_key_layout_version_3() -> None:
    key = entity_key("episode_id", "ep_1")
    assert key == (
        struct.pack("<III", 1, 2, 10) + b"episode_id" + struct.pack("<II", 2, 4) + b"ep_1"
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b")\x00\x00\x00\x00\x00\x00\x04@", 2.5),  # double_val
        (b" \xfd\xff\xff\xff\xff\xff\xff\xff\xff\x01", -3.0),  # int64_val
        (b"\x18\x07", 7.0),  # int32_val
        (b"\x12\x01x", None),  # string_val: not a number
        (b"8\x01", None),  # bool_val
        (b"", None),  # unset
    ],
)
def test_decode_number_variants(payload: bytes, expected: float | None) -> None:
    assert decode_number(payload) == expected


def test_float_round_trip_and_slow_path() -> None:
    assert encode_float(1.25) == b"\x35" + struct.pack("<f", 1.25)
    assert decode_number(encode_float(1.25)) == 1.25
    assert decode_number(b"\x12\x01x" + encode_float(0.5)) == 0.5  # after another field
    assert decode_number(b"\x35\x00\x00\x00\x00\x00") == 0.0  # float not first/exact length


def test_decode_rejects_garbage() -> None:
    with pytest.raises(InputError, match="truncated"):
        decode_number(b"\x20\xff")
    with pytest.raises(InputError, match="wire type"):
        decode_number(b"\x0b")


def test_timestamp_round_trip() -> None:
    when = datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert encode_timestamp(when) == b"\x08\x81\xf2\xd6\xca\x06\x10\x80\xca\xb5\xee\x01"
    assert decode_timestamp(encode_timestamp(when)) == when
    whole = datetime(2026, 1, 1, tzinfo=UTC)
    assert decode_timestamp(encode_timestamp(whole)) == whole
    with pytest.raises(InputError, match="timezone"):
        encode_timestamp(datetime(2026, 1, 1))
