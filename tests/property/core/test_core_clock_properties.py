from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emily.core import ManualClock

steps = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=50)


@given(steps)
def test_manual_clock_is_monotonic_and_replays_exactly(advances: list[float]) -> None:
    first, second = ManualClock(), ManualClock()
    readings = []
    for seconds in advances:
        before = first.monotonic()
        first.advance(seconds)
        second.advance(seconds)
        assert first.monotonic() >= before
        readings.append((first.monotonic(), first.now()))
        assert (second.monotonic(), second.now()) == readings[-1]
