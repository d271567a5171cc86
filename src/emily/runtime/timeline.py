"""Stimulus time: a replayed stream runs on its own time line, not on the machine's.

The alpha gate reads the oscillator's phase at a stimulus's time. If that time were the moment
the machine got round to the stimulus, which stimuli fall in the inhibitory part of each cycle
would depend on how fast the machine is, and the same file would be answered differently on
every run. So a file (or the demo) is replayed on *stream time* (ADR 0014):

* a stimulus with a ``timestamp`` sits at that time, relative to the stream's origin (the first
  timestamped stimulus, placed one step after whatever came before it);
* a stimulus without one sits one step of ``1 / rate`` seconds after the previous stimulus
  (``--rate``, default ``DEFAULT_FILE_RATE``); the first is at 0.

Stream time may go backwards (out-of-order timestamps): the gate reads the phase at each
stimulus's own time. :class:`StreamClock` follows the latest stream time, so the regulator's
time-based edges (idle, fallback holds) are on the same time line. Live sources (standard input,
the bus, HTTP) keep the injected clock: their stimuli arrive when they arrive.
"""

from __future__ import annotations

import math

from emily.core import InputError, ManualClock
from emily.runtime.stimuli import Stimulus

DEFAULT_FILE_RATE = 100.0
"""Stimuli per second of stream time for files whose stimuli carry no timestamp."""


class StreamClock(ManualClock):
    """A manual clock on stream time: it only moves when the stream does (never backwards)."""

    def advance_to(self, seconds: float) -> None:
        """Move to ``seconds`` of stream time if that is later than now."""
        ahead = seconds - self.monotonic()
        if ahead > 0:
            self.advance(ahead)


class StreamTimeline:
    """Places each stimulus of a replayed stream on stream time (rules: module docstring)."""

    def __init__(self, rate: float = DEFAULT_FILE_RATE, clock: StreamClock | None = None) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise InputError(f"rate={rate!r}; expected a positive number of stimuli per second")
        self.step = 1.0 / rate
        self.clock = clock or StreamClock()
        self._origin: float | None = None
        self._last: float | None = None

    def place(self, stimulus: Stimulus) -> float:
        """The stream time of ``stimulus`` (seconds from the stream's start)."""
        stamp = stimulus.timestamp
        nxt = 0.0 if self._last is None else self._last + self.step
        if stamp is None:
            at = nxt
        else:
            if self._origin is None:
                self._origin = stamp - nxt
            at = stamp - self._origin
        self._last = at
        self.clock.advance_to(at)
        return at

    def place_all(self, stimuli: list[Stimulus]) -> list[float]:
        """:meth:`place` of each stimulus, in order."""
        return [self.place(s) for s in stimuli]
