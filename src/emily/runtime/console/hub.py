"""One frame per tick, shared by every viewer: what keeps the console off the reflex path.

Each viewer's stream asks the hub for the latest frame once per tick. The hub builds a frame
(and its JSON) only when the cached one is older than half a tick, so the cost on the runtime
(a few lock-held copies, see ``console.frame``) is one build per tick whether one viewer
watches or eight. The tick is bounded (``options.MAX_RATE_HZ``) and so is the number of viewers.
"""

from __future__ import annotations

import threading

from emily.core import Clock
from emily.runtime.console.frame import ConsoleFrame, FrameBuilder, RemediationSource
from emily.runtime.console.options import ConsoleOptions
from emily.runtime.loop import TriuneRuntime


class TooManyViewersError(Exception):
    """Every viewer slot is taken."""


class ConsoleHub:
    """The shared, rate-limited frame source of one runtime (thread-safe)."""

    def __init__(
        self,
        runtime: TriuneRuntime,
        *,
        clock: Clock,
        options: ConsoleOptions | None = None,
        remediation: RemediationSource | None = None,
    ) -> None:
        self.options = options or ConsoleOptions()
        self._clock = clock
        self._builder = FrameBuilder(
            runtime,
            clock=clock,
            remediation=remediation,
            window_s=self.options.window_s,
            points=self.options.points,
            rate_hz=self.options.rate_hz,
        )
        self._lock = threading.Lock()
        self._cached: tuple[float, ConsoleFrame, bytes] | None = None
        self._viewers = 0
        self.builds = 0
        """Frames built so far (tests and the overhead benchmark read it)."""

    @property
    def period_s(self) -> float:
        """Seconds between two frames of one stream."""
        return 1.0 / self.options.rate_hz

    @property
    def viewers(self) -> int:
        """Streams open now."""
        with self._lock:
            return self._viewers

    def latest(self) -> tuple[ConsoleFrame, bytes]:
        """The current frame and its JSON, rebuilt if the cached one is half a tick old."""
        with self._lock:
            now = self._clock.monotonic()
            if self._cached is None or now - self._cached[0] >= self.period_s / 2:
                frame = self._builder.build()
                self._cached = (now, frame, frame.model_dump_json().encode())
                self.builds += 1
            return self._cached[1], self._cached[2]

    def join(self) -> None:
        """Take a viewer slot (``TooManyViewersError`` when none is left)."""
        with self._lock:
            if self._viewers >= self.options.max_viewers:
                raise TooManyViewersError(
                    f"{self._viewers} console streams are open, the most allowed "
                    f"({self.options.max_viewers}); close one and retry"
                )
            self._viewers += 1

    def leave(self) -> None:
        """Give a viewer slot back."""
        with self._lock:
            self._viewers = max(self._viewers - 1, 0)
