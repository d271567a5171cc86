"""Phase drift: the alpha oscillator retuned or reset off its reference is found and recalibrated.

Moved from ``tests/chaos/`` (issue #19 item 2): these tests set the oscillator's frequency and feed
it salient signals in-process on a ``ManualClock``, with no engine and no process: they are unit
tests of the drift diagnostics and of the remediation path. The chaos test of phase drift,
``tests/chaos/test_chaos_phase_drift.py``, stalls a real ``emily serve`` mid-run.

Drift is injected the two ways it happens (ADR 0004, ``_alpha`` docstring): the frequency is
retuned away from the reference (e.g. by a faulty remediation) and bursts of salient stimuli reset
the phase. ``diagnostics()`` must report both drifts; ``recalibrate_phase()`` (the documented
resolution of the "phase drift" runbook) must put the gate back on the reference schedule: after
it, the gains equal those of an undisturbed oscillator built at the same time, and nothing that
was gated before is changed after the fact (history is not rewritten). The second test takes
the automatic path: the ``AlphaPhaseDrift`` rule's labels (read from the Prometheus rules file)
in an Alertmanager notification make the runtime's remediator recalibrate, and log it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml
from prometheus_client import CollectorRegistry, Counter

from emily.core import ManualClock
from emily.nervous_system import AlphaOscillatoryAttention, Regulator
from emily.runtime.api.models import AlertmanagerAlert, AlertmanagerNotification
from emily.runtime.api.remediation import Remediator

RULES = Path(__file__).parents[3] / "infra" / "prometheus" / "rules" / "emily.rules.yml"

DRIFT_LIMIT_RAD = 0.25  # the detection threshold this test uses (about 5 ms at 8 Hz)


def _pair(clock: ManualClock) -> tuple[AlphaOscillatoryAttention, AlphaOscillatoryAttention]:
    kwargs = {"clock": clock, "salience_reset_threshold": 5.0}
    return AlphaOscillatoryAttention(8.0, **kwargs), AlphaOscillatoryAttention(8.0, **kwargs)


def test_drift_is_detected_and_recalibration_restores_the_reference() -> None:
    clock = ManualClock()
    alpha, reference = _pair(clock)
    times = np.arange(0.0, 1.0, 0.01)
    before = alpha.gain_at(times).copy()
    for _ in range(20):  # healthy stream: no drift
        alpha.gate([0.5])
        clock.advance(0.013)
    healthy = alpha.diagnostics()
    assert abs(healthy.phase_drift_rad) < 1e-9
    assert healthy.frequency_drift_hz == 0.0

    # chaos 1: the frequency is retuned away from the reference mid-run
    alpha.frequency = 11.0
    clock.advance(0.9)
    drifted = alpha.diagnostics()
    assert drifted.frequency_drift_hz == 3.0
    assert abs(drifted.phase_drift_rad) > DRIFT_LIMIT_RAD  # detected

    alpha.recalibrate_phase()  # the documented resolution
    fixed = alpha.diagnostics()
    assert fixed.frequency_drift_hz == 0.0
    assert abs(fixed.phase_drift_rad) < 1e-9

    # chaos 2: a salient burst resets the phase (a legitimate event, but the schedule moves)
    clock.advance(0.0935)  # half a cycle past the reference's release: reset lands far off
    alpha.gate([9.0])
    assert abs(alpha.diagnostics().phase_drift_rad) > DRIFT_LIMIT_RAD
    alpha.recalibrate_phase()

    # recovered: the gate now follows the reference oscillator's schedule exactly
    now = clock.monotonic()
    later = now + np.arange(0.0, 0.5, 0.007)
    np.testing.assert_allclose(alpha.gain_at(later), reference.gain_at(later), atol=1e-9)
    np.testing.assert_allclose(alpha.phase_at(later), reference.phase_at(later), atol=1e-9)
    # stays recovered while it keeps gating ordinary stimuli
    for _ in range(50):
        alpha.gate([0.5])
        clock.advance(0.017)
    assert abs(alpha.diagnostics().phase_drift_rad) < 1e-9
    # nothing rewritten: the gains of the past are the ones computed at the time
    np.testing.assert_allclose(alpha.gain_at(times[times < 0.2]), before[times < 0.2], atol=1e-9)
    assert math.isclose(alpha.frequency, 8.0)


def test_phase_drift_alert_triggers_recalibration(tmp_path: Path) -> None:
    """The automatic path: the AlphaPhaseDrift alert's webhook makes the remediator recalibrate."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rule = next(
        r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "AlphaPhaseDrift"
    )
    clock = ManualClock()
    alpha, reference = _pair(clock)
    regulator = Regulator(clock=clock)
    counter = Counter("remediations", "test", ["action"], registry=CollectorRegistry())
    remediator = Remediator(
        regulator=regulator,
        attention=alpha,
        counter=counter,
        log=tmp_path / "remediation.jsonl",
        clock=clock,
    )
    alpha.frequency = 9.0  # chaos: retuned off the 8 Hz reference
    clock.advance(2.0)
    drift = alpha.diagnostics().frequency_drift_hz
    assert abs(drift) > 0.5  # what the rule's expression (abs(emily_alpha_drift_hz) > 0.5) sees
    alert = AlertmanagerAlert(
        status="firing",
        labels={"alertname": "AlphaPhaseDrift", **rule["labels"]},
        startsAt="2026-01-01T00:00:00Z",
        fingerprint="drift-1",
    )
    notification = AlertmanagerNotification(
        version="4",
        groupKey="g",
        status="firing",
        receiver="emily",
        groupLabels={},
        commonLabels={},
        commonAnnotations={},
        externalURL="http://127.0.0.1:9093",
        alerts=[alert],
    )
    result = remediator.handle(notification)
    assert [r.action for r in result.records] == ["recalibrate_phase"]
    diag = alpha.diagnostics()
    assert diag.frequency_drift_hz == 0.0
    assert abs(diag.phase_drift_rad) < 1e-9
    later = clock.monotonic() + np.arange(0.0, 0.5, 0.007)
    np.testing.assert_allclose(alpha.gain_at(later), reference.gain_at(later), atol=1e-9)
    assert [r.action for r in remediator.records()] == ["recalibrate_phase"]  # logged
