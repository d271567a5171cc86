"""The triune loop on the real tiers and the embedded LanceDB reflex store."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.nervous_system import NervousState, Route
from emily.runtime.builder import DEMO_FEATURES, build_runtime, demo_schema
from emily.runtime.loop import TriuneRuntime
from emily.runtime.stimuli import Stimulus, demo_dataset, demo_stream


def _demo_runtime(clock: ManualClock, features: list[str] | None = None) -> TriuneRuntime:
    dataset = demo_dataset()
    return build_runtime(
        load_settings(), demo_schema(dataset), cognition_features=features, clock=clock
    )


def _feed(runtime: TriuneRuntime, stimuli: list[Stimulus], clock: ManualClock) -> list[str]:
    tiers = []
    for stimulus in stimuli:
        tiers.append(runtime.handle(stimulus).tier)
        clock.advance(0.0041)  # ~244 stimuli/s, not a divisor of the 8 Hz cycle
    return tiers


def test_reflexes_are_learned_from_labels_and_survive_a_restart() -> None:
    clock = ManualClock()
    stimuli = list(demo_stream(demo_dataset(), seed=1, limit=400))
    runtime = _demo_runtime(clock)
    tiers = _feed(runtime, stimuli, clock)
    runtime.close()  # lets the teacher write what is queued
    learned = len(runtime.reflexes)
    assert learned > 0
    passed_first = [t for t in tiers[:100] if t != "suppressed"]
    passed_last = [t for t in tiers[-100:] if t != "suppressed"]
    hit_first = passed_first.count("instinct") / len(passed_first)
    hit_last = passed_last.count("instinct") / len(passed_last)
    assert hit_last > hit_first, (hit_first, hit_last)

    clock = ManualClock()
    restarted = _demo_runtime(clock)
    assert len(restarted.reflexes) == learned
    tiers = _feed(restarted, stimuli[-50:], clock)
    restarted.close()
    assert "instinct" in tiers


def test_gain_routes_and_suppression_are_counted() -> None:
    clock = ManualClock()
    runtime = _demo_runtime(clock)
    answers = []
    for stimulus in demo_stream(demo_dataset(), limit=120):
        answers.append(runtime.handle(stimulus))
        clock.advance(0.0041)
    runtime.close()
    routes = {a.route for a in answers}
    assert Route.SUPPRESS in routes
    assert Route.REFLEX_THEN_COGNITION in routes
    for answer in answers:
        assert 0.0 <= answer.gain <= 1.0
        assert (answer.route is Route.SUPPRESS) == (answer.tier == "suppressed")
    text = runtime.metrics.exposition().decode()
    assert 'emily_gate_signals_total{outcome="suppressed"}' in text
    assert 'emily_nervous_system_state{state="processing"} 1.0' in text


def test_fallback_never_asks_cognition() -> None:
    clock = ManualClock()
    runtime = _demo_runtime(clock)
    runtime.regulator.force_fallback("test")
    assert runtime.regulator.state is NervousState.FALLBACK
    answers = []
    for stimulus in demo_stream(demo_dataset(), limit=60):
        answers.append(runtime.handle(stimulus))
        clock.advance(0.0041)
    runtime.close()
    assert all(a.route is not Route.REFLEX_THEN_COGNITION for a in answers)
    assert not any(a.cognition_offered for a in answers)


@pytest.mark.slow
def test_cognition_answers_asynchronously_in_its_own_process(tmp_path: Path) -> None:
    clock = ManualClock()
    runtime = _demo_runtime(clock, list(DEMO_FEATURES))
    offered = 0
    for stimulus in demo_stream(demo_dataset(), limit=200):
        offered += runtime.handle(stimulus).cognition_offered
        clock.advance(0.0041)
    assert offered > 0
    runtime.close()  # waits for the batch in flight
    assert runtime.cognition is not None
    assert runtime.cognition.failures == 0, runtime.cognition.last_error
    tiers, _, batch = runtime.snapshot()
    assert tiers["cognition"] >= 1
    assert batch is not None
    assert 0 < len(batch.hypotheses) <= 5
    assert all(0 < h.share <= 1 for h in batch.hypotheses)
    assert "gflownet_hypothesis_diversity" in runtime.metrics.exposition().decode()
