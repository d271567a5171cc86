"""The loop's faults and its replay semantics (issue 14): the teacher survives a failing store,
its queue is bounded, ``learned`` means accepted; a batch is judged per stimulus; a replay on
stream time answers the same way whatever the machine's speed."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from emily.core import ManualClock
from emily.instinct import (
    InMemoryReflexStore,
    NumericFeature,
    ReflexMemory,
    StimulusEncoder,
    StimulusSchema,
    StoredReflex,
)
from emily.nervous_system import AlphaOscillatoryAttention, NervousState, Regulator, Route
from emily.runtime.loop import Learning, TriuneRuntime
from emily.runtime.stimuli import Stimulus
from emily.runtime.teacher import STORE_DEPENDENCY, Teacher
from emily.runtime.timeline import StreamClock, StreamTimeline

DIM = 2048
SCHEMA = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0, levels=16)})


class FlakyStore(InMemoryReflexStore):
    """Fails the first ``failures`` writes (``None``: every write), then behaves; a write can
    also be held until ``release`` is set, to fill the teacher's queue."""

    def __init__(self, failures: int | None = 0) -> None:
        super().__init__()
        self.failures = failures
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def upsert(self, rows: Sequence[StoredReflex]) -> None:
        self.entered.set()
        self.release.wait(10)
        if self.failures is None or self.failures > 0:
            if self.failures is not None:
                self.failures -= 1
            raise OSError(28, "No space left on device")
        super().upsert(rows)


class TickingClock(ManualClock):
    """Every ``monotonic()`` read moves time by ``tick`` seconds: a slow machine, exactly."""

    def __init__(self, tick: float) -> None:
        super().__init__()
        self.tick = tick

    def monotonic(self) -> float:
        self.advance(self.tick)
        return super().monotonic()


def _memory(store: InMemoryReflexStore | None = None) -> ReflexMemory:
    encoder = StimulusEncoder(SCHEMA, dim=DIM)
    return ReflexMemory(
        DIM, store=store, encoder=encoder, clock=ManualClock(), half_life_s=None, threshold=0.9
    )


def _runtime(
    memory: ReflexMemory,
    clock: ManualClock,
    *,
    rhythm: ManualClock | None = None,
    learning: Learning = "background",
    gate: bool = True,
) -> TriuneRuntime:
    rhythm = rhythm or clock
    return TriuneRuntime(
        encoder=memory.encoder or StimulusEncoder(SCHEMA, dim=DIM),
        reflexes=memory,
        attention=AlphaOscillatoryAttention(8.0, clock=rhythm),
        regulator=Regulator(clock=rhythm),
        clock=clock,
        run_id="t",
        learning=learning,
        gate=gate,
        latency_steers=rhythm is clock,
    )


def _lesson(value: float) -> tuple[np.ndarray, str]:
    return StimulusEncoder(SCHEMA, dim=DIM).encode({"x": value}), f"v{value}"


def test_teacher_survives_failed_writes_and_reports_its_health() -> None:
    memory = _memory(FlakyStore(failures=2))
    health: list[bool] = []
    teacher = Teacher(memory, 0.8, retry_wait_s=0.0, on_health=health.append)
    assert teacher.teach(*_lesson(0.1))
    assert teacher.flush(10)
    status = teacher.status()
    assert (status.failures, status.learned, status.lost, status.healthy) == (2, 1, 0, True)
    assert "No space left" in (status.last_error or "")
    assert health == [False, True]  # told once when writes failed, once when they recovered
    assert len(memory) == 1
    teacher.close()


def test_teacher_gives_up_only_at_close_and_counts_what_it_lost() -> None:
    memory = _memory(FlakyStore(failures=None))
    teacher = Teacher(memory, 0.8, retries=1, retry_wait_s=0.0, max_retry_wait_s=0.0)
    assert teacher.teach(*_lesson(0.1))
    teacher.close(timeout_s=10)
    status = teacher.status()
    assert status.lost == 1
    assert status.learned == 0
    assert not status.healthy
    assert len(memory) == 0


def test_teacher_queue_is_bounded_and_refused_lessons_are_not_learned() -> None:
    store = FlakyStore()
    store.release.clear()  # the first write blocks: lessons pile up in the queue
    memory = _memory(store)
    clock = ManualClock()
    runtime = _runtime(memory, clock, gate=False)
    runtime.teacher._capacity = 2  # a small queue, to fill it with a handful of lessons
    stimuli = [Stimulus(id=f"s{i}", features={"x": i / 10}, label=f"c{i}") for i in range(6)]
    answers = [runtime.handle(stimuli[0])]
    assert store.entered.wait(10)  # the teacher holds the first lesson in a (blocked) write
    answers += [runtime.handle(s) for s in stimuli[1:]]
    # one lesson is being written (held), two wait in the queue: the rest are refused
    assert [a.learned for a in answers].count(True) == 3
    assert runtime.teacher.status().refused == 3
    store.release.set()
    runtime.close()
    assert len(memory) == 3


def test_a_failing_store_puts_the_loop_in_fallback_and_the_state_says_why() -> None:
    memory = _memory(FlakyStore(failures=None))
    clock = ManualClock()
    runtime = _runtime(memory, clock, learning="barrier", gate=False)
    answer = runtime.handle(Stimulus(id="s", features={"x": 0.5}, label="mid"))
    assert answer.learned is False  # the barrier write failed: nothing was learned
    assert runtime.regulator.state is NervousState.FALLBACK
    assert runtime.regulator.status().dependencies_down == (STORE_DEPENDENCY,)
    assert runtime.metrics.teacher_failures._value.get() >= 1
    assert runtime.teacher.status().failures >= 1
    runtime.close()


def test_a_large_batch_is_judged_per_stimulus_not_by_its_size() -> None:
    memory = _memory()
    memory.learn({"x": 0.5}, "mid")
    clock = TickingClock(tick=1e-4)  # every clock read costs 0.1 ms
    runtime = _runtime(memory, clock, gate=False)
    batch = [Stimulus(id=f"s{i}", features={"x": (i % 100) / 100}) for i in range(2_000)]
    answers = runtime.handle_many(batch)
    assert runtime.regulator.state is NervousState.PROCESSING
    assert answers[0].latency_s < runtime.regulator.config.latency_budget_s
    single = runtime.handle(batch[0])
    assert single.latency_s > answers[0].latency_s  # a batch amortises its cost per stimulus
    runtime.close()


def _replay(tick: float) -> list[tuple[str, Route, float, str | None]]:
    memory = _memory()
    memory.learn({"x": 0.2}, "low")
    stream = StreamClock()
    runtime = _runtime(memory, TickingClock(tick), rhythm=stream, learning="barrier")
    timeline = StreamTimeline(rate=37.0, clock=stream)
    stimuli = [
        Stimulus(id=f"s{i}", features={"x": (i * 7 % 10) / 10}, label=f"c{i % 3}")
        for i in range(120)
    ]
    answers = []
    for start in range(0, len(stimuli), 25):
        chunk = stimuli[start : start + 25]
        answers += runtime.handle_many(chunk, timeline.place_all(chunk))
    runtime.close()
    return [(a.stimulus_id, a.route, a.gain, a.response) for a in answers]


def test_a_replay_answers_the_same_on_a_fast_and_a_slow_machine() -> None:
    fast, slow = _replay(tick=1e-7), _replay(tick=0.2)  # 0.2 s per clock read: far over budget
    assert fast == slow
    routes = {route for _, route, _, _ in fast}
    assert Route.SUPPRESS in routes
    assert Route.REFLEX_THEN_COGNITION in routes


def test_stream_time_follows_timestamps_else_the_rate() -> None:
    timeline = StreamTimeline(rate=10.0)
    placed = timeline.place_all(
        [
            Stimulus(id="a", features={"x": 0.1}),
            Stimulus(id="b", features={"x": 0.1}, timestamp=1_000.0),
            Stimulus(id="c", features={"x": 0.1}, timestamp=1_002.5),
            Stimulus(id="d", features={"x": 0.1}),
            Stimulus(id="e", features={"x": 0.1}, timestamp=1_001.0),  # out of order
        ]
    )
    assert placed == pytest.approx([0.0, 0.1, 2.6, 2.7, 1.1])
    assert timeline.clock.monotonic() == pytest.approx(2.7)  # the clock never goes back


def test_the_gate_reads_the_phase_at_stream_time() -> None:
    memory = _memory()
    stream = StreamClock()
    runtime = _runtime(memory, ManualClock(), rhythm=stream, learning="off")
    peak, trough = runtime.handle_many(
        [Stimulus(id="p", features={"x": 0.1}), Stimulus(id="t", features={"x": 0.1})],
        [0.125, 0.0625],  # 8 Hz: a whole cycle (the inhibitory peak), then half a cycle
    )
    assert (peak.route, peak.time_s) == (Route.SUPPRESS, 0.125)
    assert trough.route is not Route.SUPPRESS
    assert trough.gain == pytest.approx(1.0)
    off = _runtime(memory, ManualClock(), rhythm=StreamClock(), learning="off", gate=False)
    assert off.handle(Stimulus(id="p", features={"x": 0.1}), at=0.125).gain == 1.0
    runtime.close()
    off.close()
