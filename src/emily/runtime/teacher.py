"""The teacher: learns labelled reflexes in batches, off the reflex path, and says when it can't.

A durable reflex write costs milliseconds (LanceDB write-through), far more than an answer, so
lessons are queued and written in batches by one thread. Three rules keep that honest:

* The queue is bounded (``capacity`` lessons). A lesson that finds it full is refused, not
  queued: ``teach`` returns ``False`` and the answer says ``learned=False``. Memory stays bounded
  when the store is slower than the stream.
* A failed store write is caught, counted (``failures``, ``last_error``) and reported to the
  regulator as the ``reflex_store`` dependency going down, so the loop falls back to Tier 0 and
  ``/state`` shows why; the next successful write reports it up again. A failed batch is retried
  with a backoff capped at ``max_retry_wait_s`` for as long as the teacher runs, so an accepted
  lesson is not dropped while the store is briefly away (a full disk, a lock); meanwhile the
  bounded queue fills and further lessons are refused. Only at ``close`` is a batch that still
  cannot be written given up on, after ``retries`` more attempts, and counted as ``lost``.
* ``learned`` in an answer is true only for a lesson the teacher accepted.

``flush`` waits until every accepted lesson was written or given up on: file replays use it as a
barrier between chunks, so what a later stimulus sees does not depend on thread timing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from emily.core import Clock, SovereignModel, system_clock
from emily.instinct import ReflexMemory

STORE_DEPENDENCY = "reflex_store"
"""The name under which a failing reflex store is reported to the regulator."""

Lesson = tuple[np.ndarray, str]


class TeacherStatus(SovereignModel):
    """What the teacher has done and whether it can write now (``/state``, the run summary)."""

    healthy: bool
    learned: int
    pending: int
    capacity: int
    failures: int
    lost: int
    refused: int
    last_error: str | None


class Teacher:
    """Writes lessons ``(packed vector, label)`` to a ``ReflexMemory`` in batches on a thread."""

    def __init__(
        self,
        reflexes: ReflexMemory,
        confidence: float,
        *,
        batch: int = 256,
        capacity: int = 10_000,
        retries: int = 3,
        retry_wait_s: float = 0.2,
        max_retry_wait_s: float = 5.0,
        on_health: Callable[[bool], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``on_health(up)`` is told when writes start failing (``False``) and recover;
        ``on_failure(error)`` of every failed write."""
        self._reflexes = reflexes
        self._confidence = confidence
        self._batch = batch
        self._capacity = capacity
        self._retries = retries
        self._retry_wait_s = retry_wait_s
        self._max_retry_wait_s = max_retry_wait_s
        self._on_health = on_health
        self._on_failure = on_failure
        self._clock = clock or system_clock()
        self._queue: deque[Lesson] = deque()
        self._busy = 0  # lessons taken off the queue and not yet settled
        self._cond = threading.Condition()
        self._stopping = False
        self.learned = 0
        self.failures = 0
        self.lost = 0
        self.refused = 0
        self.last_error: str | None = None
        self.healthy = True
        self._thread = threading.Thread(target=self._serve, name="emily-teacher", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Lessons accepted and not yet written (queued or being written)."""
        with self._cond:
            return len(self._queue) + self._busy

    def status(self) -> TeacherStatus:
        """A consistent snapshot of the counters."""
        with self._cond:
            return TeacherStatus(
                healthy=self.healthy,
                learned=self.learned,
                pending=len(self._queue) + self._busy,
                capacity=self._capacity,
                failures=self.failures,
                lost=self.lost,
                refused=self.refused,
                last_error=self.last_error,
            )

    def teach(self, vector: np.ndarray, label: str) -> bool:
        """Queue a lesson; ``False`` when refused (queue full or teacher stopping)."""
        with self._cond:
            if self._stopping or len(self._queue) >= self._capacity:
                self.refused += 1
                return False
            self._queue.append((vector, label))
            self._cond.notify_all()
            return True

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Wait until every accepted lesson is written or lost; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout_s)

    def learn_now(self, lessons: list[Lesson]) -> bool:
        """Write ``lessons`` on the caller's thread (file replays: learning at a fixed point).

        One attempt plus ``retries`` quick ones, counted and reported like a background write;
        ``False`` if the store refused them all (nothing was learned).
        """
        for attempt in range(self._retries + 1):
            try:
                self._reflexes.learn_many(
                    [v for v, _ in lessons], [label for _, label in lessons],
                    [self._confidence] * len(lessons),
                )  # fmt: skip
            except Exception as exc:  # counted and reported; the caller marks them unlearned
                self._failed(f"{type(exc).__name__}: {exc}")
                if attempt < self._retries:
                    self._clock.sleep(self._retry_wait_s * 2**attempt)
                continue
            self._recovered()
            with self._cond:
                self.learned += len(lessons)
            return True
        with self._cond:
            self.refused += len(lessons)
        return False

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                lessons = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                self._busy = len(lessons)
            written = self._write(lessons)
            with self._cond:
                self._busy = 0
                if written:
                    self.learned += len(lessons)
                else:
                    self.lost += len(lessons)
                self._cond.notify_all()

    def _write(self, lessons: list[Lesson]) -> bool:
        vectors = [v for v, _ in lessons]
        labels = [label for _, label in lessons]
        attempt = 0
        final_attempts = 0  # attempts made once closing began
        while True:
            try:
                self._reflexes.learn_many(vectors, labels, [self._confidence] * len(lessons))
            except Exception as exc:  # any store failure: counted and reported, never fatal
                self._failed(f"{type(exc).__name__}: {exc}")
                with self._cond:
                    final_attempts += self._stopping
                    if final_attempts > self._retries:
                        return False
                self._clock.sleep(min(self._retry_wait_s * 2**attempt, self._max_retry_wait_s))
                attempt += 1
                continue
            self._recovered()
            return True

    def _failed(self, error: str) -> None:
        with self._cond:
            self.failures += 1
            self.last_error = error
            was_healthy, self.healthy = self.healthy, False
        if self._on_failure is not None:
            self._on_failure(error)
        if was_healthy and self._on_health is not None:
            self._on_health(False)

    def _recovered(self) -> None:
        with self._cond:
            was_healthy, self.healthy = self.healthy, True
        if not was_healthy and self._on_health is not None:
            self._on_health(True)

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
