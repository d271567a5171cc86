"""Remediation: alert labels to actions, idempotency, revert on resolve or by id, the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from emily.core import ManualClock
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import Remediator, read_log
from emily.runtime.api.models import AlertmanagerAlert, AlertmanagerNotification
from emily.runtime.api.remediation import (
    MAX_GAIN,
    AlreadyRevertedError,
    NotFoundError,
)


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock()
        self.regulator = Regulator(RegulatorConfig(), clock=self.clock)
        self.attention = AlphaOscillatoryAttention(8.0, clock=self.clock)
        self.registry = CollectorRegistry()
        self.counter = Counter("emily_remediation_actions", "x", ["action"], registry=self.registry)
        self.log = tmp_path / "logs" / "remediation.jsonl"
        self.remediator = Remediator(
            regulator=self.regulator,
            attention=self.attention,
            counter=self.counter,
            log=self.log,
            clock=self.clock,
        )

    def count(self, action: str) -> float:
        value = self.registry.get_sample_value(
            "emily_remediation_actions_total", {"action": action}
        )
        return value or 0.0


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def alert(
    remediation: str | None, status: str = "firing", fingerprint: str = "fp1"
) -> AlertmanagerAlert:
    labels = {"alertname": "TestAlert"}
    if remediation is not None:
        labels["remediation"] = remediation
    return AlertmanagerAlert(
        status=status,  # type: ignore[arg-type]
        labels=labels,
        startsAt="2026-01-01T00:00:00Z",
        fingerprint=fingerprint,
    )


def notify(*alerts: AlertmanagerAlert) -> AlertmanagerNotification:
    return AlertmanagerNotification(
        version="4",
        groupKey="g",
        status=alerts[0].status,
        receiver="emily-remediation",
        groupLabels={},
        commonLabels={},
        commonAnnotations={},
        externalURL="http://am",
        alerts=list(alerts),
    )


def test_fallback_is_forced_once_and_released_on_resolve(rig: Rig) -> None:
    first = rig.remediator.handle(notify(alert("fallback_tier0")))
    assert str(rig.regulator.state) == "fallback"
    assert rig.regulator.status().forced_reason is not None
    second = rig.remediator.handle(notify(alert("fallback_tier0")))
    assert second.records == []
    assert "already in force" in second.skipped[0]
    assert rig.count("fallback_tier0") == 1
    resolved = rig.remediator.handle(notify(alert("fallback_tier0", "resolved")))
    assert [r.outcome for r in resolved.records] == ["reverted"]
    assert resolved.records[0].reverts == first.records[0].id
    assert str(rig.regulator.state) != "fallback"
    assert rig.regulator.status().forced_reason is None
    logged = read_log(rig.log)
    assert [r.outcome for r in logged] == ["applied", "reverted"]
    assert logged[0].fingerprint == "fp1"
    assert logged[0].previous["state"] == "resting"
    assert logged[0].who.startswith("alertmanager")


def test_fallback_holds_while_another_alert_still_wants_it(rig: Rig) -> None:
    rig.remediator.handle(notify(alert("fallback_tier0", fingerprint="a")))
    rig.remediator.handle(notify(alert("fallback_tier0", fingerprint="b")))
    rig.remediator.handle(notify(alert("fallback_tier0", "resolved", fingerprint="a")))
    assert str(rig.regulator.state) == "fallback"
    rig.remediator.handle(notify(alert("fallback_tier0", "resolved", fingerprint="b")))
    assert str(rig.regulator.state) != "fallback"


def test_adjust_gain_steps_up_and_reverts_to_the_previous_gain(rig: Rig) -> None:
    rig.attention.alpha_power_gain = 0.5
    result = rig.remediator.handle(notify(alert("adjust_gain")))
    assert rig.attention.alpha_power_gain > 0.5
    assert result.records[0].previous == {"alpha_power_gain": 0.5}
    rig.remediator.revert(result.records[0].id, who="test")
    assert rig.attention.alpha_power_gain == 0.5
    assert rig.count("adjust_gain") == 1


def test_adjust_gain_is_capped(rig: Rig) -> None:
    for n in range(20):
        fired = rig.remediator.handle(notify(alert("adjust_gain", fingerprint=f"f{n}")))
        assert fired.records
    assert rig.attention.alpha_power_gain == MAX_GAIN


def test_recalibrate_phase_removes_drift_and_revert_restores_the_frequency(rig: Rig) -> None:
    rig.attention.frequency = 9.0
    result = rig.remediator.handle(notify(alert("recalibrate_phase")))
    assert rig.attention.diagnostics().frequency_drift_hz == 0.0
    assert rig.attention.frequency == 8.0
    rig.remediator.revert(result.records[0].id, who="test")
    assert rig.attention.frequency == 9.0


def test_unknown_remediation_is_logged_and_ignored(rig: Rig) -> None:
    result = rig.remediator.handle(notify(alert("reboot_the_universe")))
    (record,) = result.records
    assert record.outcome == "ignored"
    assert "unknown remediation 'reboot_the_universe'" in record.why
    assert str(rig.regulator.state) == "resting"
    assert rig.remediator.active() == []
    assert [r.outcome for r in read_log(rig.log)] == ["ignored"]
    with pytest.raises(AlreadyRevertedError):
        rig.remediator.revert(record.id, who="test")


def test_an_alert_without_remediation_is_skipped_without_a_record(rig: Rig) -> None:
    result = rig.remediator.handle(notify(alert(None)))
    assert result.records == []
    assert "no remediation label" in result.skipped[0]
    assert read_log(rig.log) == []


def test_revert_of_an_unknown_id_says_so(rig: Rig) -> None:
    with pytest.raises(NotFoundError, match="emily remediation list"):
        rig.remediator.revert("nope", who="test")


def test_a_resolved_alert_after_an_explicit_revert_does_nothing(rig: Rig) -> None:
    fired = rig.remediator.handle(notify(alert("fallback_tier0")))
    rig.remediator.revert(fired.records[0].id, who="test")
    resolved = rig.remediator.handle(notify(alert("fallback_tier0", "resolved")))
    assert resolved.records == []
    assert "no action" in resolved.skipped[0]


def test_a_torn_last_log_line_is_skipped(rig: Rig) -> None:
    rig.remediator.handle(notify(alert("adjust_gain")))
    with rig.log.open("a") as handle:
        handle.write('{"id": "tor')
    assert len(read_log(rig.log)) == 1
