"""Cognition as the loop sees it: hypotheses for a window of stimuli, served off the reflex path.

The GFlowNet behind ``HypothesisSource`` (``runtime.structure``) trains and samples for seconds;
the reflex path answers in microseconds. ``CognitionWorker`` keeps the two apart: a stimulus is
*offered* (never waited on), and batches run in a separate process, one at a time.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from typing import Protocol

from emily.core import Clock, SovereignModel
from emily.runtime.stimuli import Stimulus


class Hypothesis(SovereignModel):
    """One hypothesis from cognition: a description, its sampled share and log-reward."""

    description: str
    share: float
    log_reward: float


class HypothesisBatch(SovereignModel):
    """A batch of hypotheses answering a window of stimuli."""

    stimulus_ids: tuple[str, ...]
    hypotheses: tuple[Hypothesis, ...]
    diversity: float
    mode_collapse: bool
    latency_s: float


class HypothesisSource(Protocol):
    """Cognition as the runtime sees it: hypotheses for a window of stimuli."""

    min_window: int
    """Stimuli needed before a window is worth a batch."""

    def hypothesise(self, window: Sequence[Stimulus]) -> HypothesisBatch: ...


class CognitionWorker:
    """Serves cognition requests in a separate process, one batch in flight at a time.

    Why a process: a GFlowNet training loop in a thread would hold the GIL for long stretches
    and stall the reflex path. Requests that arrive while a batch is being computed only grow
    the window; the next batch answers the latest window (System 2 may lag, never block).
    """

    def __init__(
        self,
        source: HypothesisSource,
        on_batch: Callable[[HypothesisBatch], None],
        *,
        clock: Clock,
        window: int = 64,
    ) -> None:
        self._source = source
        self._clock = clock
        self._started = 0.0
        self._on_batch = on_batch
        self._window: deque[Stimulus] = deque(maxlen=window)
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._in_flight: Future[HypothesisBatch] | None = None
        self._fresh = False
        self._lock = threading.Lock()
        self.failures = 0
        self.last_error: str | None = None

    def offer(self, stimulus: Stimulus) -> bool:
        """Add a stimulus to the window; start a batch unless one is running. Never blocks."""
        with self._lock:
            self._window.append(stimulus)
            self._fresh = True
            if self._in_flight is None and len(self._window) >= self._source.min_window:
                self._submit_locked()
        return True

    def _submit_locked(self) -> None:
        self._fresh = False
        self._started = self._clock.monotonic()
        future = self._pool.submit(self._source.hypothesise, list(self._window))
        self._in_flight = future
        future.add_done_callback(self._done)

    def _done(self, future: Future[HypothesisBatch]) -> None:
        try:
            latency = self._clock.monotonic() - self._started
            self._on_batch(future.result().model_copy(update={"latency_s": latency}))
        except Exception as exc:  # a failing model must not stop the runtime; it is reported
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._in_flight = None
            if self._fresh:
                self._submit_locked()

    def close(self) -> None:
        """Let the running batch finish (its result is still delivered), then stop."""
        with self._lock:
            self._fresh = False
            running = self._in_flight
        if running is not None:
            wait([running])
        self._pool.shutdown(wait=True, cancel_futures=True)
