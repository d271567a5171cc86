"""Regulator: routing, fallback on latency and dependencies, hysteresis, remediation, records."""

from __future__ import annotations

import math
from datetime import timedelta

import pydantic
import pytest

from emily.core import InputError, ManualClock
from emily.nervous_system import (
    NervousState,
    Regulator,
    RegulatorConfig,
    Route,
    Transition,
)

S = NervousState
FAST, SLOW, MIDDLING = 0.010, 0.080, 0.045  # good, over the 50 ms budget, within but not good


def _regulator(**config: float) -> tuple[Regulator, ManualClock]:
    clock = ManualClock()
    return Regulator(RegulatorConfig(**config), clock=clock), clock


def _path(regulator: Regulator) -> list[str]:
    return [t.to_state.value for t in regulator.transitions()]


def test_routes_by_gain_in_each_state() -> None:
    regulator, _ = _regulator()
    assert regulator.state is S.RESTING
    assert regulator.route(0.05) is Route.SUPPRESS  # and wakes it up
    assert regulator.state is S.PROCESSING
    assert regulator.route(0.3) is Route.REFLEX_ONLY
    assert regulator.route(0.5) is Route.REFLEX_THEN_COGNITION
    regulator.force_fallback("drill")
    assert [regulator.route(g) for g in (0.05, 0.3, 1.0)] == [
        Route.SUPPRESS,
        Route.REFLEX_ONLY,
        Route.REFLEX_ONLY,
    ]
    regulator.release_fallback("drill over")
    assert regulator.state is S.RECOVERING
    assert [regulator.route(g) for g in (0.05, 0.6, 0.8)] == [
        Route.SUPPRESS,
        Route.REFLEX_ONLY,  # cognition only for the most attended while on probation
        Route.REFLEX_THEN_COGNITION,
    ]
    assert regulator.status().routes == {
        Route.SUPPRESS: 3,
        Route.REFLEX_ONLY: 4,
        Route.REFLEX_THEN_COGNITION: 2,
    }


def test_idle_processing_rests_and_the_transition_is_dated_when_it_fell_due() -> None:
    regulator, clock = _regulator(idle_after_s=5.0)
    clock.advance(1.0)
    regulator.route(0.5)
    clock.advance(12.0)
    assert regulator.state is S.RESTING
    rest = regulator.transitions()[-1]
    assert (rest.from_state, rest.to_state, rest.time_s) == (S.PROCESSING, S.RESTING, 6.0)
    assert rest.at == clock.now() - timedelta(seconds=7.0)
    assert rest.reason == "idle for 5 s"


def test_latency_breach_falls_back_holds_then_recovers_with_hysteresis() -> None:
    regulator, clock = _regulator(fallback_hold_s=1.0, recovery_successes=3)
    regulator.route(0.9)
    regulator.report_latency(0.050)  # exactly the budget is not over it
    assert regulator.state is S.PROCESSING
    regulator.report_latency(SLOW)
    assert regulator.state is S.FALLBACK
    assert regulator.transitions()[-1].reason == "latency 80.0 ms over the 50.0 ms budget"
    clock.advance(0.5)
    regulator.report_latency(FAST)  # fast Tier-0 answers do not end the hold early
    assert regulator.state is S.FALLBACK
    clock.advance(0.6)
    assert regulator.state is S.RECOVERING
    assert regulator.transitions()[-1].time_s == 1.0  # when the hold expired
    for latency in (FAST, FAST, MIDDLING, FAST, FAST):  # a middling answer restarts the count
        regulator.report_latency(latency)
        assert regulator.state is S.RECOVERING
    regulator.report_latency(FAST)
    assert regulator.state is S.PROCESSING
    assert regulator.transitions()[-1].reason == "3 answers within 40.0 ms"
    assert _path(regulator) == ["processing", "fallback", "recovering", "processing"]


def test_relapse_while_recovering_backs_off_the_hold_and_success_restores_it() -> None:
    regulator, clock = _regulator(
        fallback_hold_s=1.0, hold_backoff=2.0, max_fallback_hold_s=3.0, recovery_successes=1
    )
    regulator.report_latency(SLOW)
    for expected_hold in (2.0, 3.0, 3.0):  # doubled, then capped
        clock.advance(10.0)
        assert regulator.state is S.RECOVERING
        regulator.report_latency(SLOW)
        status = regulator.status()
        assert (status.state, status.fallback_hold_s) == (S.FALLBACK, expected_hold)
        assert status.hold_until_s == clock.monotonic() + expected_hold
    clock.advance(3.0)
    regulator.report_latency(FAST)
    assert regulator.state is S.PROCESSING
    assert regulator.status().fallback_hold_s == 1.0
    assert regulator.status().latency_breaches == 4


def test_a_breach_during_fallback_restarts_the_hold() -> None:
    regulator, clock = _regulator(fallback_hold_s=1.0)
    regulator.report_latency(SLOW)
    clock.advance(0.9)
    regulator.report_latency(SLOW)
    clock.advance(0.9)
    assert regulator.state is S.FALLBACK
    clock.advance(0.1)
    assert regulator.state is S.RECOVERING


def test_dependencies_hold_fallback_until_every_one_is_up() -> None:
    regulator, clock = _regulator()
    regulator.route(0.9)
    regulator.report_dependency("graph", up=False)
    regulator.report_dependency("bus", up=False)
    regulator.report_dependency("vectors", up=True)  # never down: nothing to do
    clock.advance(100.0)
    regulator.report_dependency("graph", up=True)
    assert regulator.state is S.FALLBACK
    assert regulator.status().dependencies_down == ("bus",)
    regulator.report_dependency("bus", up=True)
    assert regulator.state is S.RECOVERING
    assert [t.reason for t in regulator.transitions()][1:] == [
        "dependency graph down",
        "dependency bus up",
    ]


def test_force_and_release_are_reversible_but_do_not_override_a_down_dependency() -> None:
    regulator, _ = _regulator()
    regulator.release_fallback("nothing to release")
    assert regulator.transitions() == ()
    regulator.force_fallback("alert AlphaAttentionLatencyHigh")
    assert regulator.state is S.FALLBACK
    assert regulator.status().forced_reason == "alert AlphaAttentionLatencyHigh"
    regulator.report_dependency("bus", up=False)
    regulator.release_fallback("resolved")
    assert regulator.state is S.FALLBACK  # the bus is still down
    regulator.report_dependency("bus", up=True)
    assert regulator.state is S.RECOVERING
    regulator.report_latency(SLOW)  # the release lifts a latency hold too
    regulator.release_fallback("operator")
    assert _path(regulator) == ["fallback", "recovering", "fallback", "recovering"]
    assert regulator.transitions()[-1].reason == "released: operator"


def test_listeners_see_each_transition_once_and_can_be_removed() -> None:
    regulator, _ = _regulator()
    seen: list[Transition] = []
    remove = regulator.add_listener(seen.append)
    regulator.route(0.5)
    regulator.force_fallback("test")
    assert seen == list(regulator.transitions())
    remove()
    remove()  # removing twice is harmless
    regulator.release_fallback("test")
    assert len(seen) == 2


def test_history_is_bounded_and_counted() -> None:
    clock = ManualClock()
    regulator = Regulator(clock=clock, history=3)
    for _ in range(3):
        regulator.force_fallback("cycle")
        regulator.release_fallback("cycle")
    assert len(regulator.transitions()) == 3
    assert regulator.status().transitions == 6


@pytest.mark.parametrize("gain", [-0.1, 1.1, math.nan])
def test_gain_outside_unit_interval_is_refused(gain: float) -> None:
    with pytest.raises(InputError, match="gain"):
        _regulator()[0].route(gain)


@pytest.mark.parametrize("seconds", [-0.001, math.nan, math.inf])
def test_bad_latency_is_refused(seconds: float) -> None:
    with pytest.raises(InputError, match="latency"):
        _regulator()[0].report_latency(seconds)


@pytest.mark.parametrize("name", ["", 3])
def test_bad_dependency_name_is_refused(name: object) -> None:
    with pytest.raises(InputError, match="dependency name"):
        _regulator()[0].report_dependency(name, up=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"suppress_below": 0.6}, "suppress_below <= cognition_above"),
        ({"recovering_cognition_above": 0.4}, "cognition_above <= recovering"),
        ({"max_fallback_hold_s": 0.5}, "max_fallback_hold_s >= fallback_hold_s"),
        ({"latency_budget_s": 0.0}, "greater than 0"),
        ({"recovery_successes": 0}, "greater than or equal to 1"),
    ],
)
def test_inconsistent_config_is_refused(config: dict[str, float], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        RegulatorConfig(**config)
