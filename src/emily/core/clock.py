"""The temporal lock: every read of time in agent code goes through an injectable clock.

Why: the alpha oscillator's phase, latency budgets, decay of reflexes and episode timestamps
all depend on time. If agent code read the wall clock directly, no run could be replayed; with
a ``Clock`` passed in, a ``ManualClock`` replays a recorded run bit for bit. This module is the
only place in ``src/emily`` allowed to read the system clock
(``scripts/check_temporal_lock.py`` enforces that).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What agent code may ask of time."""

    def now(self) -> datetime:
        """Current time as a timezone-aware UTC datetime (for timestamps that are stored)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale (for phases, intervals and latencies)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; a manual clock advances instead of waiting."""
        ...


class SystemClock:
    """The real clock: wall time for timestamps, ``perf_counter`` for intervals."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.perf_counter()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to: for tests and deterministic replay.

    ``monotonic()`` starts at ``0.0`` and ``now()`` at ``start``; both advance together, so a
    replay sees the same intervals and the same timestamps as the recording.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock start must be timezone-aware (e.g. tzinfo=UTC)")
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (negative values are refused: time is monotonic)."""
        if not seconds >= 0:  # also rejects NaN
            raise ValueError(f"cannot advance a clock by {seconds!r} seconds; expected >= 0")
        with self._lock:
            self._elapsed += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))


def system_clock() -> Clock:
    """The process-wide default clock, for call sites that were not handed one."""
    return _SYSTEM_CLOCK


_SYSTEM_CLOCK = SystemClock()
