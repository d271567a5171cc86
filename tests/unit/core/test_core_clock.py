from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from emily.core import Clock, ManualClock, SystemClock, system_clock


def test_manual_clock_moves_only_when_told() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.monotonic() == 0.0
    assert clock.now() == start
    clock.advance(1.5)
    clock.sleep(0.5)
    assert clock.monotonic() == pytest.approx(2.0)
    assert clock.now() == start + timedelta(seconds=2)


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_manual_clock_refuses_to_go_back(bad: float) -> None:
    clock = ManualClock()
    with pytest.raises(ValueError, match="expected >= 0"):
        clock.advance(bad)
    assert clock.monotonic() == 0.0


def test_manual_clock_needs_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_system_clock_is_a_clock_and_moves_forward() -> None:
    clock = system_clock()
    assert isinstance(clock, SystemClock)
    assert isinstance(clock, Clock)
    first = clock.monotonic()
    clock.sleep(0.001)
    clock.sleep(0)  # no-op
    assert clock.monotonic() > first
    assert clock.now().tzinfo is UTC
