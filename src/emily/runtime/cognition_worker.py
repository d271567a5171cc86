"""Cognition as the loop sees it: hypotheses for a window of stimuli, served off the reflex path.

The GFlowNet behind ``HypothesisSource`` (``runtime.structure``) trains and samples for seconds;
the reflex path answers in microseconds. ``CognitionWorker`` keeps the two apart: a stimulus is
*offered* (never waited on), and batches run in a separate process, one at a time.

Answering within seconds of the first miss (issue #18): on a loaded two-core machine the
sampler's process took longer to import its modules (torch, pandas, the samplers) than the
demo takes to stream, so its first batch came after the demo's end, if at all. Now the process
is started before the runtime's own imports (``prestart``, which ``emily run`` calls first
thing) or at the latest when the worker is built, and warmed up there (imports, a tiny first
sample) instead of on the first miss; and the first batch of a source that offers a quick pass
(``Refining``: fewer training steps and samples) uses it, later batches refine at full size.
The quick pass is skipped where it would mislead: a rollout's router compares sources batch for
batch, so with one attached every batch is full size.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from emily.core import Clock, SovereignModel
from emily.runtime.orphan_watch import die_with
from emily.runtime.stimuli import Stimulus

if TYPE_CHECKING:
    from emily.ops.rollout import Answer, RolloutRouter, Route


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


@runtime_checkable
class Refining(Protocol):
    """A source with a quick first pass and a warm-up (see the module docstring)."""

    def quick(self) -> HypothesisSource:
        """The same source at a fraction of the cost, for the first batch of a run."""
        ...

    def warm_up(self) -> None:
        """Load what a request needs (run in the sampler's process before any request)."""
        ...


def _sampler_pool() -> ProcessPoolExecutor:
    """One spawned process for cognition that ends with ours, however ours ends."""
    return ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with,
        initargs=(os.getpid(),),
    )


def _import_modules(names: Sequence[str]) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)


class _Spare:
    """The process ``prestart`` started, waiting for the next ``CognitionWorker`` to adopt it."""

    lock = threading.Lock()
    pool: ProcessPoolExecutor | None = None


def prestart(modules: Sequence[str] | None = None) -> None:
    """Start a sampler process now and import ``modules`` in it, for the next worker built
    (default: what the runtime's causal-structure requests import, ``structure.SAMPLER_MODULES``).

    Why: the process's imports take seconds (tens on a loaded machine); started before the
    caller's own imports, they overlap them, and cognition is ready about when the stream
    starts. The next ``CognitionWorker`` adopts the process; ``discard_prestarted`` ends it if
    none is built. Calling it again while one waits does nothing.
    """
    if modules is None:
        from emily.runtime.structure import SAMPLER_MODULES

        modules = SAMPLER_MODULES
    with _Spare.lock:
        if _Spare.pool is None:
            _Spare.pool = _sampler_pool()
            _Spare.pool.submit(_import_modules, tuple(modules))


def discard_prestarted() -> None:
    """End a prestarted process no worker adopted (it exits once its imports are done)."""
    with _Spare.lock:
        pool, _Spare.pool = _Spare.pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _adopt() -> ProcessPoolExecutor:
    """The prestarted process if there is one, else a new one."""
    with _Spare.lock:
        pool, _Spare.pool = _Spare.pool, None
    return pool if pool is not None else _sampler_pool()


def _warm_up(source: HypothesisSource) -> None:
    """Run in the sampler's process: unpickling ``source`` imports its modules; a ``Refining``
    source also loads what its first request needs."""
    if isinstance(source, Refining):
        source.warm_up()


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
        self._pool = _adopt()
        self._in_flight: Future[Any] | None = None
        self._fresh = False
        self._lock = threading.Lock()
        self.failures = 0
        self.last_error: str | None = None
        self._router: RolloutRouter[HypothesisSource] | None = None
        self._route: Route[HypothesisSource] | None = None
        self._answered: HypothesisBatch | None = None
        self._window_sent: list[Stimulus] = []
        self._closing = False
        self._settled = threading.Condition(self._lock)  # notified when nothing is in flight
        self._refined = False  # True once a full-size batch may be asked for
        self._submitted = False  # True once a window went to the sampler
        self.warmed = False
        """True once the sampler's process has started and warmed up (or failed to)."""
        self._attaching = threading.local()
        warming = self._pool.submit(_warm_up, source)  # starts the process now, not at a miss
        self._in_flight = warming  # offers only grow the window until the warm-up is done
        self._when_done(warming, self._warmed)

    def _when_done(self, future: Future[Any], callback: Callable[[Future[Any]], None]) -> None:
        """Call ``callback`` once ``future`` is done, never in the thread attaching it.

        Why: ``add_done_callback`` on a future that is already done calls it at once, in the
        caller's thread, and every caller here holds ``self._lock``, which each callback takes
        again: a batch that came back before its callback was attached (a challenger failing at
        once, on a loaded machine) deadlocked ``offer``. Such a callback runs in a thread of its
        own instead; the usual case, the pool's result thread, is unchanged.
        """

        def dispatch(done: Future[Any]) -> None:
            if getattr(self._attaching, "active", False):
                threading.Thread(target=callback, args=(done,), daemon=True).start()
            else:
                callback(done)

        self._attaching.active = True
        try:
            future.add_done_callback(dispatch)
        finally:
            self._attaching.active = False

    def _warmed(self, future: Future[None]) -> None:
        """The warm-up ended: serve the window gathered meanwhile. A failed warm-up is only
        reported: the first request then meets the same failure and is counted as one."""
        error = future.exception() if not future.cancelled() else None
        if error is not None:
            self.last_error = f"warm-up: {type(error).__name__}: {error}"
        self.warmed = True
        self._next()

    def attach_router(self, router: RolloutRouter[HypothesisSource]) -> None:
        """Route each batch by the rollouts in force (canary, shadow), measuring challengers.

        Why after construction: the router needs the registry and the store, which the serving
        command owns; the worker only asks it, per batch, which source answers.
        """
        with self._lock:
            self._router = router

    def offer(self, stimulus: Stimulus) -> bool:
        """Add a stimulus to the window; start a batch unless one is running. Never blocks."""
        with self._lock:
            self._window.append(stimulus)
            self._fresh = True
            if self._in_flight is None:
                self._submit_locked()
        return True

    def _submit_locked(self) -> None:
        if len(self._window) < self._source.min_window:
            return  # fresh stays set: the next offer (or batch) submits
        if self._closing and self._submitted:
            return  # closing: only a window that never got a batch is still answered
        self._fresh, self._submitted = False, True
        window = list(self._window)
        source = self._source
        self._route = None
        if self._router is not None:
            self._route = self._router.route(window[-1].id, self._source)
            source = self._route.source
        elif not self._refined and isinstance(source, Refining):
            source = source.quick()  # the first answer soon; the next batches refine it
        self._window_sent = window
        self._started = self._clock.monotonic()
        future = self._pool.submit(source.hypothesise, window)
        self._in_flight = future
        self._when_done(future, self._done)

    def _done(self, future: Future[HypothesisBatch]) -> None:
        route, latency = self._route, self._clock.monotonic() - self._started
        batch: HypothesisBatch | None = None
        error: str | None = None
        try:
            batch = future.result().model_copy(update={"latency_s": latency})
            self._refined = True
        except Exception as exc:  # a failing model must not stop the runtime; it is reported
            self.failures += 1
            error = self.last_error = f"{type(exc).__name__}: {exc}"
        if batch is not None:
            try:
                self._on_batch(batch)
            except Exception as exc:  # the consumer's failure, not the model's: not measured
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
        if route is not None and self._router is not None:
            try:
                self._router.observe(route, _answer(batch, latency, error))
            except Exception as exc:  # a verdict that fails must not stop serving either
                self.last_error = f"rollout: {type(exc).__name__}: {exc}"
            if batch is None and route.source is not self._source and self._reanswer():
                return
            if route.shadow is not None and batch is not None:
                self._answered = batch
                with self._lock:
                    if not self._closing:
                        self._started = self._clock.monotonic()
                        shadow = self._pool.submit(route.shadow.hypothesise, self._window_sent)
                        self._in_flight = shadow
                        self._when_done(shadow, self._shadow_done)
                        return
        self._next()

    def _reanswer(self) -> bool:
        """Give a window whose challenger failed to the champion, so it is still answered.

        The failure has been counted against the challenger (its canary or A/B arm); the
        requests behind the window did nothing wrong and get the champion's hypotheses, as if
        no rollout were running. False when closing (nothing new is started then).
        """
        with self._lock:
            if self._closing:
                return False
            self._route = None
            self._started = self._clock.monotonic()
            future = self._pool.submit(self._source.hypothesise, self._window_sent)
            self._in_flight = future
            self._when_done(future, self._done)
            return True

    def _shadow_done(self, future: Future[HypothesisBatch]) -> None:
        """Compare the shadow's batch with the champion's answer; the shadow's is never served."""
        latency = self._clock.monotonic() - self._started
        champion = self._answered
        try:
            shadow: HypothesisBatch | None = future.result()
            error = None
        except Exception as exc:
            shadow, error = None, f"{type(exc).__name__}: {exc}"
        if self._router is not None and champion is not None:
            served = {h.description for h in champion.hypotheses}
            seen = {h.description for h in shadow.hypotheses} if shadow else set()
            union = served | seen
            try:
                self._router.compare(
                    _answer(champion, champion.latency_s, None),
                    _answer(shadow, latency, error),
                    len(served & seen) / len(union) if union and shadow else 0.0,
                )
            except Exception as exc:  # a tracking outage must not stop serving
                self.last_error = f"shadow: {type(exc).__name__}: {exc}"
        self._next()

    def _next(self) -> None:
        with self._lock:
            self._in_flight = None
            if self._fresh:
                self._submit_locked()
            if self._in_flight is None:
                self._settled.notify_all()

    def close(self) -> None:
        """Let the running batch finish (its result is still delivered), then stop.

        A window gathered while the sampler was still warming up is answered before stopping,
        as it would have been had the process been up: a short file run that ends before the
        warm-up does still gets its batch. Later fresh windows are dropped (System 2 lags).
        """
        with self._settled:
            self._closing = True
            self._fresh = self._fresh and not self._submitted
            while self._in_flight is not None:  # a shadow run may follow the champion's, and
                self._settled.wait()  # the owed window the warm-up: each ends in _next
        self._pool.shutdown(wait=True, cancel_futures=True)


def _answer(batch: HypothesisBatch | None, latency_s: float, error: str | None) -> Answer:
    """A batch as the rollout machinery measures it: latency, diversity, error."""
    from emily.ops.rollout import Answer

    if batch is None:
        return Answer(hypotheses=[], latency_ms=latency_s * 1000.0, diversity=0.0, error=error)
    return Answer(
        hypotheses=[h.description for h in batch.hypotheses],
        latency_ms=latency_s * 1000.0,
        diversity=batch.diversity,
    )
