"""The console's frame over an in-memory runtime: an unaliased oscillator window, rates between
frames, the regulator's timeline, hypotheses as DAGs, and one build per tick for every viewer."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from emily.core import ManualClock
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import (
    AlphaOscillatoryAttention,
    Regulator,
    RegulatorConfig,
    inhibition_gain,
)
from emily.runtime.console.frame import (
    DagView,
    FrameBuilder,
    closed_intervals,
    edge_marginals,
    parse_edges,
)
from emily.runtime.console.hub import ConsoleHub, TooManyViewersError
from emily.runtime.console.options import ConsoleOptions
from emily.runtime.loop import Hypothesis, HypothesisBatch, TriuneRuntime
from emily.runtime.stimuli import Stimulus

DIM = 1024


def make_runtime(clock: ManualClock, power: float = 1.0) -> TriuneRuntime:
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    return TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock, alpha_power=power),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
        gate=False,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def runtime(clock: ManualClock) -> Iterator[TriuneRuntime]:
    rt = make_runtime(clock)
    yield rt
    rt.close()


def stimuli(n: int, label: str | None = None) -> list[Stimulus]:
    """Alternately at the two ends of the feature's range (one learned, one far from it)."""
    return [Stimulus(id=f"s{i}", features={"x": float(i % 2)}, label=label) for i in range(n)]


def test_the_oscillator_window_resolves_every_cycle_of_an_8_hz_rhythm(
    runtime: TriuneRuntime, clock: ManualClock
) -> None:
    clock.advance(3.7)
    frame = FrameBuilder(runtime, clock=clock, window_s=1.0, points=400).build()
    osc = frame.oscillator
    t = np.asarray(osc.t)
    assert t[0] == pytest.approx(-1.0)
    assert t[-1] == 0.0
    assert len(t) == 400
    exact = np.linspace(-1.0, 0.0, 400)  # the frame rounds its times to 0.1 ms
    expected = inhibition_gain(2 * math.pi * 8.0 * (3.7 + exact), 1.0)  # phase 0 at t=0
    assert np.allclose(osc.gain, expected, atol=1e-3)
    # At power 1 the gate closes around every peak: eight closed windows in a second at 8 Hz,
    # which one reading per frame (a few Hz) could never show.
    assert len(osc.closed) in (8, 9)
    widths = [b - a for a, b in osc.closed]
    assert all(0.005 < w < 0.05 for w in widths[1:-1])
    assert osc.frequency_hz == 8.0
    assert osc.threshold == RegulatorConfig().suppress_below


def test_the_window_moves_with_the_clock(runtime: TriuneRuntime, clock: ManualClock) -> None:
    builder = FrameBuilder(runtime, clock=clock)
    first = builder.build().oscillator
    clock.advance(0.03)  # a quarter cycle
    second = builder.build().oscillator
    assert first.gain != second.gain
    assert second.phase_rad == pytest.approx(
        (first.phase_rad + 2 * math.pi * 8 * 0.03) % (2 * math.pi)
    )


def test_rates_and_shares_are_taken_between_frames(
    runtime: TriuneRuntime, clock: ManualClock
) -> None:
    builder = FrameBuilder(runtime, clock=clock)
    first = builder.build()
    assert first.traffic.per_s is None
    assert first.reflexes.hit_rate is None
    runtime.reflexes.learn_many([{"x": 0.0}], ["zero"], [1.0])
    runtime.handle_many(stimuli(40))
    clock.advance(0.5)
    second = builder.build()
    assert second.traffic.answered == 40
    assert second.traffic.per_s == pytest.approx(80.0)
    shares = second.traffic.shares
    assert sum(shares.values()) == pytest.approx(1.0)
    assert second.reflexes.hit_rate == pytest.approx(shares["instinct"]) == 0.5
    assert second.reflexes.miss_rate == pytest.approx(0.5)
    assert second.reflexes.size == 1
    assert second.latency.count == 40
    assert second.latency.p99_ms is not None


def test_a_forced_fallback_shows_as_state_and_transition(
    runtime: TriuneRuntime, clock: ManualClock
) -> None:
    runtime.handle_many(stimuli(3))
    clock.advance(2.0)
    runtime.regulator.force_fallback("operator test")
    clock.advance(1.5)
    regulator = FrameBuilder(runtime, clock=clock).build().regulator
    assert regulator.state == "fallback"
    assert regulator.forced_reason == "operator test"
    last = regulator.transitions[-1]
    assert (last.from_state, last.to_state) == ("processing", "fallback")
    assert last.ago_s == pytest.approx(1.5)
    assert "operator test" in last.reason


def test_hypotheses_become_dags_with_edge_marginals(
    runtime: TriuneRuntime, clock: ManualClock
) -> None:
    batch = HypothesisBatch(
        stimulus_ids=("s1",),
        hypotheses=(
            Hypothesis(description="a→b, b→c", share=0.5, log_reward=-1.0),
            Hypothesis(description="a→b", share=0.3, log_reward=-2.0),
            Hypothesis(description="(independent)", share=0.2, log_reward=-3.0),
        ),
        diversity=0.4,
        mode_collapse=False,
        latency_s=0.2,
    )
    runtime.hypotheses.append(batch)
    runtime.tiers["cognition"] += 1
    cognition = FrameBuilder(runtime, clock=clock).build().cognition
    assert cognition.nodes == ["a", "b", "c"]
    assert [h.edges for h in cognition.hypotheses] == [[("a", "b"), ("b", "c")], [("a", "b")], []]
    assert cognition.marginals[0][1] == pytest.approx(0.8)
    assert cognition.marginals[1][2] == pytest.approx(0.5)
    assert cognition.marginals[1][0] == 0.0
    assert cognition.batches == 1
    assert not cognition.enabled


def test_helpers() -> None:
    assert parse_edges("alcohol→hue, hue→flavanoids") == [("alcohol", "hue"), ("hue", "flavanoids")]
    assert parse_edges("(independent)") == []
    views = [DagView(description="x→y", share=0.25, log_reward=0.0, edges=[("x", "y")])]
    assert edge_marginals(["x", "y"], views) == [[0.0, 1.0], [0.0, 0.0]]
    assert closed_intervals([0.0, 0.1, 0.2, 0.3, 0.4], [1, 0, 0, 1, 0], 0.5) == [
        (0.1, 0.3),
        (0.4, 0.4),
    ]


def test_the_hub_builds_one_frame_per_tick_for_every_viewer(
    runtime: TriuneRuntime, clock: ManualClock
) -> None:
    hub = ConsoleHub(runtime, clock=clock, options=ConsoleOptions(rate_hz=4.0))
    frames = [hub.latest()[0] for _ in range(5)]  # five viewers asking in the same tick
    assert hub.builds == 1
    assert {f.seq for f in frames} == {1}
    clock.advance(hub.period_s)
    frame, data = hub.latest()
    assert hub.builds == 2
    assert frame.seq == 2
    assert data == frame.model_dump_json().encode()


def test_the_hub_bounds_its_viewers(runtime: TriuneRuntime, clock: ManualClock) -> None:
    hub = ConsoleHub(runtime, clock=clock, options=ConsoleOptions(max_viewers=2))
    hub.join()
    hub.join()
    with pytest.raises(TooManyViewersError, match="2 console streams"):
        hub.join()
    hub.leave()
    hub.join()
    assert hub.viewers == 2


def test_the_rate_is_bounded() -> None:
    with pytest.raises(ValueError, match="rate_hz"):
        ConsoleOptions(rate_hz=1000.0)
