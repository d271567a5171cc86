"""Chaos: the reflex path goes over its latency budget mid-run.

The runtime (real reflex memory on LanceDB, real regulator) answers a stream of stimuli; then the
instinct tier is made slow (each lookup costs 80 ms of clock time against the 50 ms budget). The
documented fallback (runbook "latency over budget", regulator docstring) must engage at the very
next stimulus: Tier 0 reflexes only, cognition never offered, answers still given. Once the
slowness goes and the hold expires, the regulator recovers through RECOVERING to PROCESSING, and
no reflex learned before the incident is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import ReflexHit
from emily.nervous_system import NervousState, Route
from emily.runtime.builder import build_runtime
from emily.runtime.loop import TriuneRuntime
from emily.runtime.stimuli import Stimulus

SLOW_S = 0.080  # injected lookup latency; the default budget is 50 ms

TEXTS = [f"known stimulus number {i}" for i in range(5)]


def _stimulus(i: int) -> Stimulus:
    return Stimulus(id=f"s{i}", text=TEXTS[i % len(TEXTS)], salience=1.0)


@pytest.fixture
def runtime() -> Any:
    settings = load_settings(hdc_dim=1024, latency_budget_ms=50.0)
    clock = ManualClock()
    rt = build_runtime(settings, None, clock=clock)
    rt.attention.alpha_power = 0.0  # gate always open: the gate is not what this test breaks
    rt.reflexes.learn_many(
        [rt.encoder.encode(t) for t in TEXTS], [f"answer {i}" for i in range(5)], [1.0] * 5
    )
    yield rt, clock
    rt.close()


def _slow_lookups(rt: TriuneRuntime, clock: ManualClock, delay: list[float]) -> None:
    real: Callable[..., Any] = rt.reflexes.lookup_batch  # the reflex path's one lookup call

    def lookup_batch(queries: Any) -> Any:
        clock.advance(delay[0] * len(queries))  # each lookup blocks this long (clock time)
        return real(queries)

    rt.reflexes.lookup_batch = lookup_batch  # type: ignore[method-assign]


def test_fallback_engages_within_budget_and_recovers(runtime: Any) -> None:
    rt, clock = runtime
    delay = [0.001]
    _slow_lookups(rt, clock, delay)
    for i in range(5):  # healthy: processing, reflexes answer
        answer = rt.handle(_stimulus(i))
        assert answer.tier == "instinct"
        assert answer.response == f"answer {i}"
    assert rt.regulator.state is NervousState.PROCESSING

    delay[0] = SLOW_S  # chaos: instinct lookups now break the budget
    breached = rt.handle(_stimulus(0))
    assert breached.latency_s > 0.050
    # The very next stimulus is routed Tier 0 only: fallback engaged within one answer.
    answers = [rt.handle(_stimulus(i)) for i in range(1, 4)]
    assert rt.regulator.state is NervousState.FALLBACK
    assert all(a.route is Route.REFLEX_ONLY for a in answers)
    assert all(not a.cognition_offered for a in answers)
    assert [a.response for a in answers] == ["answer 1", "answer 2", "answer 3"]  # still served
    status = rt.regulator.status()
    assert status.latency_breaches >= 1
    assert any("over the 50.0 ms budget" in t.reason for t in rt.regulator.transitions())

    delay[0] = 0.001  # the slowness goes away
    clock.advance(status.fallback_hold_s * 2)  # and the hold expires
    states = []
    for i in range(10):
        rt.handle(_stimulus(i))
        states.append(rt.regulator.state)
    assert NervousState.RECOVERING in states  # hysteresis: never straight back
    assert rt.regulator.state is NervousState.PROCESSING
    # Nothing lost: every reflex learned before the incident still answers.
    for i, text in enumerate(TEXTS):
        hit = rt.reflexes.lookup(rt.encoder.encode(text))
        assert isinstance(hit, ReflexHit)
        assert hit.response == f"answer {i}"
    assert len(rt.reflexes.ids()) == len(TEXTS)
