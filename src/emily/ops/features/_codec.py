"""The bytes Feast keeps in its online stores, read and written without importing Feast.

Why: Feast lives in its own environment (ADR 0010), yet the runtime's feature lookups must be
fast and in-process. We rely on this layout of Feast 0.67 (``entity_key_serialization_version:
3``), and ``tests/integration/ops/test_ops_feast_*.py`` checks it against what Feast wrote:

* entity key: ``<u32 n_keys=1> <u32 type=2 (STRING)> <u32 len> join_key
  <u32 type=2> <u32 len> value`` (little-endian), from ``serialize_entity_key``.
* a feature value: a ``feast.types.Value`` protobuf; Float32 features are ``float_val``
  (field 6, fixed32), so ``0x35`` + 4 bytes.
* SQLite: table ``<project>_<feature_view>``, one row per (entity_key, feature_name), with
  ``value`` the protobuf, ``value_text`` its ``str()`` and ``event_ts`` an integer epoch.
* Redis: hash ``<entity key bytes><project>``; field ``murmur3_32("<view>:<feature>")`` as 4
  little-endian bytes per feature, and ``_ts:<view>`` holding a ``google.protobuf.Timestamp``.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from emily.core import InputError

STRING_TYPE = 2  # feast.value_type.ValueType.STRING
_FLOAT_TAG = 0x35  # field 6 (float_val), wire type 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entity_key(join_key: str, value: str) -> bytes:
    """Feast's serialized key of one string entity (serialization version 3)."""
    key, val = join_key.encode(), value.encode()
    return struct.pack(
        f"<III{len(key)}sII{len(val)}s", 1, STRING_TYPE, len(key), key, STRING_TYPE, len(val), val
    )


def encode_float(value: float) -> bytes:
    """A ``Value`` protobuf holding ``float_val`` (what Feast writes for a Float32 feature)."""
    return struct.pack("<Bf", _FLOAT_TAG, value)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise InputError("truncated protobuf varint in an online-store value")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def decode_number(data: bytes) -> float | None:
    """The number in a ``Value`` protobuf (float, double, int32/64), ``None`` when unset."""
    if data[:1] == b"\x35" and len(data) == 5:  # the common case, Float32: fast path
        return float(struct.unpack_from("<f", data, 1)[0])
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 5:
            if field == 6:
                return float(struct.unpack_from("<f", data, pos)[0])
            pos += 4
        elif wire == 1:
            if field == 5:
                return float(struct.unpack_from("<d", data, pos)[0])
            pos += 8
        elif wire == 0:
            number, pos = _varint(data, pos)
            if field in (3, 4):
                return float(number - (1 << 64) if number >= 1 << 63 else number)
        elif wire == 2:
            length, pos = _varint(data, pos)
            pos += length
        else:
            raise InputError(f"unsupported protobuf wire type {wire} in an online-store value")
    return None


def encode_timestamp(when: datetime) -> bytes:
    """A ``google.protobuf.Timestamp`` (seconds and nanos since the epoch) for ``when``."""
    if when.tzinfo is None:
        raise InputError(f"timestamp {when.isoformat()} needs a timezone (UTC expected)")
    micros = round(when.timestamp() * 1_000_000)
    seconds, rest = divmod(micros, 1_000_000)
    out = b"\x08" + _put_varint(seconds)
    return out + (b"\x10" + _put_varint(rest * 1000) if rest else b"")


def decode_timestamp(data: bytes) -> datetime:
    """The UTC time in a ``google.protobuf.Timestamp``."""
    seconds = nanos = pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        value, pos = _varint(data, pos)
        if tag == 0x08:
            seconds = value
        elif tag == 0x10:
            nanos = value
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, unsigned (what Feast's ``mmh3.hash(key, signed=False)`` gives)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed
    blocks = len(data) // 4
    for (block,) in struct.iter_unpack("<I", data[: blocks * 4]):
        k = (block * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[blocks * 4 :]
    k = 0
    for i, byte in enumerate(tail):
        k |= byte << (8 * i)
    if tail:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def redis_field(view: str, feature: str) -> bytes:
    """The Redis hash field Feast stores ``view:feature`` under."""
    return struct.pack("<I", murmur3_32(f"{view}:{feature}".encode()))
