"""Remediation under any interleaving of firing and resolved alerts (and operator reverts).

The specification: what is in force is a function of the set of actions still active, never of
the order they came and went in. With ``n`` ``adjust_gain`` actions active the gain is the
baseline stepped up ``n`` times (capped); fallback is held while one ``fallback_tier0`` is active
and the operator's own state comes back after the last; the oscillator sits on its reference
frequency while one ``recalibrate_phase`` is active and gets its own frequency back after the
last. A re-delivered firing alert changes nothing, a resolved alert nobody saw is a no-op, and
the log always accounts for exactly the actions in force.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from emily.core import InputError, ManualClock
from emily.nervous_system import (
    AlphaOscillatoryAttention,
    NervousState,
    Regulator,
    RegulatorConfig,
)
from emily.runtime.api import Remediator, read_log
from emily.runtime.api.models import AlertmanagerAlert, AlertmanagerNotification
from emily.runtime.api.remediation import GAIN_STEP, MAX_GAIN, MIN_GAIN_BASE

REFERENCE_HZ = 8.0
ACTIONS = {  # fingerprint -> the remediation label its alert carries
    "gain-a": "adjust_gain",
    "gain-b": "adjust_gain",
    "gain-c": "adjust_gain",
    "fallback-a": "fallback_tier0",
    "fallback-b": "fallback_tier0",
    "phase-a": "recalibrate_phase",
    "phase-b": "recalibrate_phase",
    "unknown": "reboot_the_universe",
}
KNOWN = {"adjust_gain", "fallback_tier0", "recalibrate_phase"}
STARTS_AT = "2026-01-01T00:00:00Z"

fingerprints = st.sampled_from(sorted(ACTIONS))
deliveries = st.lists(
    st.tuples(st.sampled_from(["firing", "resolved"]), fingerprints), min_size=1, max_size=3
)
events = st.one_of(
    deliveries.map(lambda alerts: ("notify", alerts)),
    fingerprints.map(lambda fp: ("revert", fp)),
)


@dataclass
class Model:
    """Which alerts have an action in force, and which firings were already considered."""

    active: set[str] = field(default_factory=set)
    handled: set[str] = field(default_factory=set)

    def firing(self, fp: str) -> None:
        if fp in self.active or fp in self.handled:
            return  # a re-delivery: Alertmanager re-sends firing alerts every repeat_interval
        self.handled.add(fp)
        if ACTIONS[fp] in KNOWN:
            self.active.add(fp)

    def resolved(self, fp: str) -> None:
        self.handled.discard(fp)
        self.active.discard(fp)

    def count(self, action: str) -> int:
        return sum(ACTIONS[fp] == action for fp in self.active)


def _alert(status: str, fp: str) -> AlertmanagerAlert:
    return AlertmanagerAlert(
        status=status,  # type: ignore[arg-type]
        labels={"alertname": f"Alert-{fp}", "remediation": ACTIONS[fp]},
        startsAt=STARTS_AT,
        fingerprint=fp,
    )


def _notification(alerts: list[AlertmanagerAlert]) -> AlertmanagerNotification:
    return AlertmanagerNotification(
        version="4",
        groupKey="g",
        status=alerts[0].status,
        receiver="emily-remediation",
        groupLabels={},
        commonLabels={},
        commonAnnotations={},
        externalURL="http://am",
        alerts=alerts,
    )


def _rig(
    log: Path, gain: float, frequency: float, operator_fallback: bool
) -> tuple[Remediator, Regulator, AlphaOscillatoryAttention]:
    clock = ManualClock()
    regulator = Regulator(RegulatorConfig(), clock=clock)
    if operator_fallback:
        regulator.force_fallback("operator maintenance")
    attention = AlphaOscillatoryAttention(REFERENCE_HZ, clock=clock, alpha_power_gain=gain)
    attention.frequency = frequency  # drifted away from the reference
    counter = Counter("emily_remediation_actions", "x", ["action"], registry=CollectorRegistry())
    remediator = Remediator(
        regulator=regulator, attention=attention, counter=counter, log=log, clock=clock
    )
    return remediator, regulator, attention


def _expected_gain(baseline: float, n: int) -> float:
    if n == 0:
        return baseline
    return max(min(max(baseline, MIN_GAIN_BASE) * GAIN_STEP**n, MAX_GAIN), baseline)


@settings(max_examples=150, deadline=None)
@given(
    script=st.lists(events, max_size=25),
    gain=st.sampled_from([0.0, 0.05, 1.0, 3.9, 4.0, 6.0]) | st.floats(0.0, 8.0),
    frequency=st.floats(8.0, 13.0),
    operator_fallback=st.booleans(),
)
def test_what_is_in_force_is_exactly_the_effect_of_the_active_actions(
    script: list[tuple[str, str | list[tuple[str, str]]]],
    gain: float,
    frequency: float,
    operator_fallback: bool,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "logs" / "remediation.jsonl"
        remediator, regulator, attention = _rig(log, gain, frequency, operator_fallback)
        model = Model()
        for _, arg in script:
            if isinstance(arg, str):  # an operator reverts the action of alert `arg` by id
                ids = [r.id for r in remediator.active() if r.fingerprint == arg]
                if ids:
                    remediator.revert(ids[0], who="operator")
                model.active.discard(arg)  # handled stays: the alert may still be firing
            else:
                remediator.handle(_notification([_alert(status, fp) for status, fp in arg]))
                for status, fp in arg:
                    if status == "firing":
                        model.firing(fp)
                    else:
                        model.resolved(fp)

            active = remediator.active()
            assert sorted(r.fingerprint or "" for r in active) == sorted(model.active)
            assert attention.alpha_power_gain == pytest.approx(
                _expected_gain(gain, model.count("adjust_gain"))
            )
            now = regulator.status()
            if model.count("fallback_tier0"):
                assert now.state is NervousState.FALLBACK
                held_by = [fp for fp in model.active if f"({fp})" in (now.forced_reason or "")]
                assert [ACTIONS[fp] for fp in held_by] == ["fallback_tier0"]
            elif operator_fallback:
                assert now.state is NervousState.FALLBACK
                assert now.forced_reason == "operator maintenance"
            else:
                assert now.forced_reason is None
                assert now.state is not NervousState.FALLBACK
            if model.count("recalibrate_phase"):
                assert attention.frequency == REFERENCE_HZ
            else:
                assert attention.frequency == frequency

            records = read_log(log)  # the log accounts for exactly the actions in force
            applied = {r.id for r in records if r.outcome == "applied"}
            reverted = {r.reverts for r in records if r.outcome == "reverted"}
            assert applied - reverted == {r.id for r in active}


def test_two_gain_alerts_resolved_first_in_first_out_restore_the_baseline(
    tmp_path: Path,
) -> None:
    remediator, _, attention = _rig(tmp_path / "r.jsonl", 1.0, REFERENCE_HZ, False)
    remediator.handle(_notification([_alert("firing", "gain-a")]))
    remediator.handle(_notification([_alert("firing", "gain-b")]))
    assert attention.alpha_power_gain == pytest.approx(GAIN_STEP**2)
    resolved = remediator.handle(_notification([_alert("resolved", "gain-a")]))
    assert attention.alpha_power_gain == pytest.approx(GAIN_STEP)
    assert resolved.records[0].applied == {"alpha_power_gain": pytest.approx(GAIN_STEP)}
    remediator.handle(_notification([_alert("resolved", "gain-b")]))
    assert attention.alpha_power_gain == 1.0
    assert remediator.active() == []


def test_labels_that_are_not_unicode_are_refused_and_nothing_is_applied(tmp_path: Path) -> None:
    log = tmp_path / "r.jsonl"
    remediator, regulator, attention = _rig(log, 1.0, 9.0, False)
    good = _alert("firing", "gain-a")
    bad = AlertmanagerAlert(
        status="firing",
        labels={"alertname": "Broken\ud800", "remediation": "fallback_tier0"},
        startsAt=STARTS_AT,
        fingerprint="broken",
    )
    with pytest.raises(InputError, match="lone surrogate"):
        remediator.handle(_notification([good, bad]))
    assert remediator.active() == []
    assert attention.alpha_power_gain == 1.0
    assert regulator.status().forced_reason is None
    assert read_log(log) == []
    retried = remediator.handle(_notification([good]))  # the good alert was not marked handled
    assert [r.outcome for r in retried.records] == ["applied"]
