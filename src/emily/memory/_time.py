"""Timestamps as integer microseconds since the Unix epoch (how the stores keep time).

Conversions only: no clock is read here (``datetime.fromtimestamp`` is avoided because the
temporal-lock check cannot tell it from a clock read).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(ts: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (ts - EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    """The aware UTC datetime ``us`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=int(us))
