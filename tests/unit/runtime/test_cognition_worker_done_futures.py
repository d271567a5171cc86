"""A batch that is done before its callback is attached must not deadlock the worker.

``Future.add_done_callback`` on a finished future runs the callback at once in the caller's
thread; the worker attaches its callbacks while holding its lock, which the callbacks take
again. With the sampler's process pool that happens only when a batch (a challenger failing at
once) returns within a context switch, seen as a hung suite on a loaded machine. A pool whose
futures are finished before ``submit`` returns makes it happen every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import pytest

from emily.core import system_clock
from emily.runtime import cognition_worker
from emily.runtime.cognition_worker import CognitionWorker, HypothesisBatch
from emily.runtime.stimuli import Stimulus

DEADLINE_S = 20.0


class FinishedFuturesPool:
    """Runs each call inside ``submit``: its future is done before the caller sees it."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


class Source:
    min_window = 2

    def hypothesise(self, window: Sequence[Stimulus]) -> HypothesisBatch:
        ids = tuple(s.id for s in window)
        return HypothesisBatch(
            stimulus_ids=ids, hypotheses=(), diversity=0.0, mode_collapse=False, latency_s=0.0
        )


def within_deadline(action: Callable[[], None]) -> None:
    """Run ``action`` in a thread; a deadlock shows as the thread still alive at the deadline."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), "the worker deadlocked on a batch that was already done"
    if errors:
        raise errors[0]


def test_batches_done_before_their_callback_are_delivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cognition_worker, "_adopt", FinishedFuturesPool)
    batches: list[HypothesisBatch] = []
    delivered = threading.Event()

    def on_batch(batch: HypothesisBatch) -> None:
        batches.append(batch)
        delivered.set()

    worker = CognitionWorker(Source(), on_batch, clock=system_clock(), window=4)

    def offer_and_close() -> None:
        for i in range(3):
            worker.offer(Stimulus(id=f"s{i}", features={"x": float(i)}))
        assert delivered.wait(DEADLINE_S)
        worker.close()

    within_deadline(offer_and_close)
    assert batches[0].stimulus_ids == ("s0", "s1")
    assert worker.failures == 0
