"""Model-based test of the regulator (the seed's "model the nervous system state machine").

Hypothesis drives the real ``Regulator`` and a reference model side by side with random stimuli,
latencies, dependency faults, operator actions and clock steps. After every step the two must
agree on the state, and invariants that hold whatever happened are checked on the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from emily.core import ManualClock
from emily.nervous_system import (
    ALLOWED_TRANSITIONS,
    NervousState,
    Regulator,
    RegulatorConfig,
    Route,
)

S = NervousState
CONFIG = RegulatorConfig(
    latency_budget_s=0.050,
    recover_fraction=0.8,
    recovery_successes=3,
    fallback_hold_s=1.0,
    hold_backoff=2.0,
    max_fallback_hold_s=4.0,
    idle_after_s=5.0,
)
DEPENDENCIES = ("graph", "vectors", "bus")
# Latencies near the two thresholds (40 ms good, 50 ms budget) as well as anywhere.
latencies = st.sampled_from([0.0, 0.039, 0.040, 0.041, 0.050, 0.051, 0.5]) | st.floats(0, 0.2)
steps = st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 8.0]) | st.floats(0, 10)


@dataclass
class Model:
    """The specification, as plainly as it can be written: which state, given what happened."""

    state: NervousState = S.RESTING
    now: float = 0.0
    down: set[str] = field(default_factory=set)
    forced: bool = False
    hold_until: float | None = None  # a latency hold in force until then
    hold: float = CONFIG.fallback_hold_s
    good_in_a_row: int = 0
    active_at: float = 0.0  # last stimulus, or when PROCESSING was entered

    def causes(self) -> bool:
        return bool(self.down) or self.forced or self.hold_until is not None

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.state == S.PROCESSING and self.now >= self.active_at + CONFIG.idle_after_s:
            self.state = S.RESTING
        if self.state == S.FALLBACK and self.hold_until is not None and self.now >= self.hold_until:
            self.hold_until = None
            self.leave_fallback_if_clear()

    def leave_fallback_if_clear(self) -> None:
        if self.state == S.FALLBACK and not self.causes():
            self.state, self.good_in_a_row = S.RECOVERING, 0

    def expected_route(self, gain: float) -> Route:
        if gain < CONFIG.suppress_below:
            return Route.SUPPRESS
        cognition_from = {
            S.PROCESSING: CONFIG.cognition_above,
            S.RECOVERING: CONFIG.recovering_cognition_above,
        }.get(self.state, 2.0)
        return Route.REFLEX_THEN_COGNITION if gain >= cognition_from else Route.REFLEX_ONLY

    def stimulus(self, gain: float) -> Route:
        if self.state == S.RESTING:
            self.state = S.PROCESSING
        self.active_at = self.now
        return self.expected_route(gain)

    def latency(self, seconds: float) -> None:
        if seconds > CONFIG.latency_budget_s:
            if self.state == S.RECOVERING:
                self.hold = min(CONFIG.hold_backoff * self.hold, CONFIG.max_fallback_hold_s)
            self.hold_until = self.now + self.hold
            self.state = S.FALLBACK
        elif self.state == S.RECOVERING:
            within = seconds <= CONFIG.recover_fraction * CONFIG.latency_budget_s
            self.good_in_a_row = self.good_in_a_row + 1 if within else 0
            if self.good_in_a_row == CONFIG.recovery_successes:
                self.state, self.hold, self.active_at = (
                    S.PROCESSING,
                    CONFIG.fallback_hold_s,
                    self.now,
                )

    def dependency(self, name: str, up: bool) -> None:
        if up:
            self.down.discard(name)
            self.leave_fallback_if_clear()
        else:
            self.down.add(name)
            self.state = S.FALLBACK

    def force(self) -> None:
        self.forced, self.state = True, S.FALLBACK

    def release(self) -> None:
        self.forced, self.hold_until = False, None
        self.leave_fallback_if_clear()


class RegulatorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.regulator = Regulator(CONFIG, clock=self.clock)
        self.model = Model()
        self.routes = 0

    @rule(seconds=steps)
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.model.advance(seconds)

    @rule(gain=st.floats(0.0, 1.0))
    def stimulus(self, gain: float) -> None:
        route = self.regulator.route(gain)
        assert route == self.model.stimulus(gain)
        self.routes += 1
        if self.model.causes():
            assert route != Route.REFLEX_THEN_COGNITION  # fallback is Tier 0 only

    @rule(seconds=latencies)
    def answer(self, seconds: float) -> None:
        self.regulator.report_latency(seconds)
        self.model.latency(seconds)
        if seconds > CONFIG.latency_budget_s:
            assert self.regulator.state is S.FALLBACK

    @rule(name=st.sampled_from(DEPENDENCIES), up=st.booleans())
    def dependency_reports(self, name: str, up: bool) -> None:
        self.regulator.report_dependency(name, up)
        self.model.dependency(name, up)

    @rule()
    def operator_forces_fallback(self) -> None:
        self.regulator.force_fallback("chaos drill")
        self.model.force()

    @precondition(lambda self: self.model.forced or self.model.hold_until is not None)
    @rule()
    def operator_releases_fallback(self) -> None:
        self.regulator.release_fallback("drill over")
        self.model.release()

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.regulator.state is self.model.state

    @invariant()
    def fallback_exactly_while_a_cause_holds(self) -> None:
        status = self.regulator.status()
        assert (status.state is S.FALLBACK) == self.model.causes()
        assert set(status.dependencies_down) == self.model.down
        assert (status.forced_reason is not None) == self.model.forced

    @invariant()
    def history_is_a_walk_on_the_allowed_edges_forward_in_time(self) -> None:
        history = self.regulator.transitions()
        state, time = S.RESTING, 0.0
        for transition in history:
            assert transition.from_state is state
            assert (transition.from_state, transition.to_state) in ALLOWED_TRANSITIONS
            assert time <= transition.time_s <= self.clock.monotonic()
            state, time = transition.to_state, transition.time_s
        assert state is self.regulator.state

    @invariant()
    def every_stimulus_is_counted_once(self) -> None:
        assert sum(self.regulator.status().routes.values()) == self.routes


RegulatorMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=60, deadline=None
)
test_regulator_state_machine = RegulatorMachine.TestCase
