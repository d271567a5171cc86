"""The terminal side of ``emily run``: one live region from the first instant to the summary.

Why one region for the whole run: a run spends seconds before its first stimulus (imports,
the model registry, LanceDB, the journal's and cognition's processes) and seconds after its
last (flushing the journal, the last cognition batch). A view that starts with the stream and
stops with it leaves a blank screen before and a frozen frame after, which looked like a hang
(issue #18). ``RunView`` says what is loading step by step, then draws frames
(``emily.runtime.display``), then keeps drawing while the run finishes. Without a live view
(``--no-live``, ``--json``) every method is a no-op, so output stays what scripts parse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console, RenderableType
from rich.live import Live

from emily.core import Clock
from emily.runtime import History, Step, loading_view, render_snapshot, snapshot_of

if TYPE_CHECKING:
    from emily.runtime import TriuneRuntime

T = TypeVar("T")
REFRESH_S = 0.25
"""How often frames are redrawn while the run waits on something (start-up, shutdown)."""


class RunView:
    """Start-up steps, live frames and the finish of one run (see the module docstring)."""

    def __init__(self, console: Console, *, live: bool, clock: Clock) -> None:
        self.console = console
        self.clock = clock
        self.started = clock.monotonic()
        """When the run began (the command's entry): start-up is measured from here."""
        self.history = History()
        self.steps: list[Step] = []
        self.total: int | None = None
        self.console_url: str | None = None
        self.cognition_from: str | None = None
        self.offered = 0
        """Stimuli offered to cognition so far (the run's tally keeps it up to date)."""
        self._live = Live(console=console, refresh_per_second=8, transient=False) if live else None

    def __enter__(self) -> RunView:
        if self._live is not None:
            self._live.update(loading_view(self.steps))
            self._live.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Leave the last frame on the screen and hand the terminal back (idempotent)."""
        if self._live is not None:
            self._live.stop()

    @property
    def live(self) -> bool:
        """Whether frames are drawn at all."""
        return self._live is not None

    def _show(self, renderable: RenderableType) -> None:
        if self._live is not None:
            self._live.update(renderable, refresh=True)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Show ``what`` as loading, then done with its duration."""
        started = self.clock.monotonic()
        self.steps.append(Step(what))
        self._show(loading_view(self.steps))
        try:
            yield
        finally:
            self.steps[-1] = Step(what, self.clock.monotonic() - started)
            self._show(loading_view(self.steps))

    def frame(
        self, runtime: TriuneRuntime, processed: int, elapsed_s: float, stage: str = "streaming"
    ) -> None:
        """Draw the runtime as it is now (and feed the sparklines' history)."""
        if self._live is None:
            return
        self._show(self._render(runtime, processed, elapsed_s, stage))

    def _render(
        self, runtime: TriuneRuntime, processed: int, elapsed_s: float, stage: str
    ) -> RenderableType:
        return render_snapshot(
            snapshot_of(
                runtime,
                processed,
                elapsed_s,
                total=self.total,
                history=self.history,
                record=stage == "streaming",
                offered=self.offered,
                stage=stage,
                console_url=self.console_url,
                cognition_from=self.cognition_from,
            )
        )

    def wait(
        self,
        work: Callable[[], T],
        runtime: TriuneRuntime,
        processed: int,
        elapsed_s: float,
        stage: str,
    ) -> T:
        """Run ``work`` (a flush, a close) while the frame keeps moving, saying ``stage``.

        Without a live view it simply runs. The throughput shown stays that of the stream
        (``elapsed_s`` is frozen at its end): waiting is not streaming.
        """
        if self._live is None:
            return work()
        result: list[T] = []
        failure: list[BaseException] = []

        def target() -> None:
            try:
                result.append(work())
            except BaseException as exc:  # re-raised on the caller's thread below
                failure.append(exc)

        thread = threading.Thread(target=target, name="emily-run-finish", daemon=True)
        thread.start()
        while thread.is_alive():
            self.frame(runtime, processed, elapsed_s, stage)
            thread.join(REFRESH_S)
        if failure:
            raise failure[0]
        return result[0]

    def until(
        self,
        done: Callable[[], bool],
        timeout_s: float,
        runtime: TriuneRuntime,
        processed: int,
        elapsed_s: float,
        stage: str,
    ) -> bool:
        """Keep drawing until ``done()`` or ``timeout_s`` passed; whether ``done()`` came true."""
        deadline = self.clock.monotonic() + timeout_s
        while not done():
            if self.clock.monotonic() >= deadline:
                return False
            self.frame(runtime, processed, elapsed_s, stage)
            self.clock.sleep(REFRESH_S)
        return True
