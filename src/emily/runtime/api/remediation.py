"""Alert-driven remediation: Alertmanager's alerts become reversible nervous-system actions.

Each alert rule in ``infra/prometheus/rules/emily.rules.yml`` that has a remedy names it in its
``remediation`` label; the runbooks in ``ops/runbooks/`` describe the same steps for a human:

* ``fallback_tier0`` - hold the regulator in Tier-0 fallback (reflexes only);
* ``recalibrate_phase`` - put the alpha oscillator back on its reference frequency and phase;
* ``adjust_gain`` - raise ``alpha_power_gain`` one step, so gating inhibits more again.

Every action is appended to ``EMILY_HOME/logs/remediation.jsonl`` (who, what, why, when, the
alert's fingerprint and the value it replaced), counted in ``emily_remediation_actions_total``
and reversible: the alert's ``resolved`` notification, or ``POST /remediation/{id}/revert``,
withdraws it. A firing alert that is delivered again while its action is in force does nothing
(Alertmanager re-sends on every ``repeat_interval``); a resolved alert nobody acted on is a no-op.

What is in force is a function of the *set* of active actions, not of their order. Per kind of
action the state before the first of its kind became active is kept as the baseline; with ``n``
actions of a kind active, the gain is the baseline stepped up ``n`` times (capped), fallback is
held (``n >= 1``) and the oscillator sits on its reference. When the last one goes, the baseline
comes back. Undoing each action to its own ``previous`` value would be right only when alerts
resolve in reverse order: two gain alerts resolved first-in first-out would leave the gain one
step up with nothing active.

The log line is written before the engines are touched (after serialising it, so text that is
not valid Unicode is refused up front): an action is never in force without a line that says
so, and a failed write leaves everything as it was.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from prometheus_client import Counter
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from emily.core import Clock, InputError
from emily.nervous_system import AlphaOscillatoryAttention, NervousState, Regulator
from emily.runtime.api.models import (
    AlertmanagerAlert,
    AlertmanagerNotification,
    RemediationRecord,
    WebhookResult,
)

LOG_NAME = "remediation.jsonl"
GAIN_STEP = 1.5
"""Factor by which ``adjust_gain`` raises ``alpha_power_gain`` (one runbook step)."""
MAX_GAIN = 4.0
"""``adjust_gain`` never raises the gain above this, however often the alert fires."""
MIN_GAIN_BASE = 0.1
"""A zero gain cannot be multiplied up, so a step starts from at least this."""

Values = dict[str, float | str | None]
ACTIONS = ("adjust_gain", "fallback_tier0", "recalibrate_phase")


class NotFoundError(InputError):
    """No remediation action has the given id."""


class AlreadyRevertedError(InputError):
    """The action was reverted before (nothing is in force to revert)."""


def log_path(home: Path) -> Path:
    """``EMILY_HOME/logs/remediation.jsonl``."""
    return home / "logs" / LOG_NAME


def read_log(path: Path) -> list[RemediationRecord]:
    """Every record in the log, oldest first; a torn last line (a crash mid-write) is skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(RemediationRecord.model_validate_json(line))
        except ValidationError:
            continue
    return records


def stepped_gain(baseline: float, n: int) -> float:
    """The gain with ``n`` ``adjust_gain`` actions in force over ``baseline``: ``n`` steps of
    ``GAIN_STEP`` from at least ``MIN_GAIN_BASE``, capped at ``MAX_GAIN`` but never below the
    baseline (an operator's gain above the cap is left alone)."""
    if n == 0:
        return baseline
    return max(min(max(baseline, MIN_GAIN_BASE) * GAIN_STEP**n, MAX_GAIN), baseline)


def _number(values: Values, key: str) -> float:
    value = values.get(key)
    if not isinstance(value, int | float):  # our own reading of an engine: cannot happen
        raise TypeError(f"remediation baseline {key} is {value!r}, not a number")
    return float(value)


def _nothing() -> None:
    """Nothing to do: the remaining actions' effect is already in force."""


class Remediator:
    """Applies, logs, counts and withdraws remediation actions; safe to share across threads."""

    def __init__(
        self,
        *,
        regulator: Regulator,
        attention: AlphaOscillatoryAttention,
        counter: Counter,
        log: Path,
        clock: Clock,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._regulator = regulator
        self._attention = attention
        self._counter = counter
        self._log = log
        self._clock = clock
        self._new_id = new_id or (lambda: uuid.uuid4().hex[:12])
        self._lock = threading.Lock()
        self._active: dict[str, RemediationRecord] = {}  # by record id, in force in this process
        self._baseline: dict[str, Values] = {}  # by action: the state before the first active one
        self._handled: set[tuple[str, str]] = set()  # (fingerprint, startsAt) already considered

    # -- queries ----------------------------------------------------------------------------

    def active(self) -> list[RemediationRecord]:
        """Actions in force now, oldest first."""
        with self._lock:
            return list(self._active.values())

    def records(self) -> list[RemediationRecord]:
        """The whole log, oldest first."""
        with self._lock:
            return read_log(self._log)

    # -- the webhook ------------------------------------------------------------------------

    def handle(self, notification: AlertmanagerNotification) -> WebhookResult:
        """Act on each alert of one notification (firing: apply once; resolved: withdraw).

        Raises:
            InputError: the notification holds text that cannot be logged (a lone surrogate);
                nothing of it is applied.
        """
        _check_encodable(notification)
        records: list[RemediationRecord] = []
        skipped: list[str] = []
        with self._lock:
            for alert in notification.alerts:
                if alert.status == "firing":
                    self._on_firing(alert, notification.receiver, records, skipped)
                else:
                    self._on_resolved(alert, records, skipped)
        return WebhookResult(records=records, skipped=skipped)

    def _on_firing(
        self,
        alert: AlertmanagerAlert,
        receiver: str,
        records: list[RemediationRecord],
        skipped: list[str],
    ) -> None:
        name = alert.labels.get("alertname")
        action = alert.labels.get("remediation") or alert.annotations.get("remediation")
        if self._active_for(alert.fingerprint) is not None:
            skipped.append(f"{alert.fingerprint}: an action for this alert is already in force")
            return
        key = (alert.fingerprint, alert.startsAt)
        if key in self._handled:
            skipped.append(f"{alert.fingerprint}: this firing was already handled")
            return
        who = f"alertmanager ({receiver})"
        why = f"alert {name} firing since {alert.startsAt}"
        if action is None:
            self._handled.add(key)
            skipped.append(f"{alert.fingerprint}: alert {name} has no remediation label")
            return
        if action not in ACTIONS:
            why = f"{why}; unknown remediation {action!r} (known: {', '.join(ACTIONS)})"
            record = self._record(who, action, why, alert, outcome="ignored")
            records.append(self._write(record))
            self._handled.add(key)
            return
        previous = self._read(action)
        baseline = self._baseline.get(action, previous)
        applied, enact = self._fire(action, self._count(action) + 1, baseline, name, alert)
        record = self._record(who, action, why, alert, previous=previous, applied=applied)
        records.append(self._write(record))  # first: never in force without a log line
        self._handled.add(key)
        self._baseline[action] = baseline
        self._active[record.id] = record
        enact()
        self._counter.labels(action=action).inc()

    def _on_resolved(
        self, alert: AlertmanagerAlert, records: list[RemediationRecord], skipped: list[str]
    ) -> None:
        active = self._active_for(alert.fingerprint)
        if active is None:
            self._handled = {k for k in self._handled if k[0] != alert.fingerprint}
            skipped.append(f"{alert.fingerprint}: resolved, and no action of it is in force")
            return
        name = alert.labels.get("alertname")
        records.append(self._revert(active, "alertmanager", f"alert {name} resolved"))
        self._handled = {k for k in self._handled if k[0] != alert.fingerprint}

    # -- explicit revert --------------------------------------------------------------------

    def revert(
        self, record_id: str, who: str, why: str = "reverted by request"
    ) -> RemediationRecord:
        """Withdraw the action ``record_id`` now.

        Raises:
            NotFoundError: no action has that id.
            AlreadyRevertedError: it is not in force (reverted before, or ignored).
        """
        with self._lock:
            active = self._active.get(record_id)
            if active is None:
                if any(r.id == record_id for r in read_log(self._log)):
                    raise AlreadyRevertedError(
                        f"remediation {record_id} is not in force (already reverted, ignored, "
                        "or applied before this server started): nothing to revert"
                    )
                raise NotFoundError(
                    f"no remediation action has id {record_id!r}; `emily remediation list` "
                    "shows the ids"
                )
            return self._revert(active, who, why)

    # -- actions: what is in force with n of a kind active over its baseline ----------------

    def _count(self, action: str) -> int:
        return sum(r.action == action for r in self._active.values())

    def _read(self, action: str) -> Values:
        """What ``action`` changes, as it is now (the baseline when none of its kind is active)."""
        if action == "adjust_gain":
            return {"alpha_power_gain": self._attention.alpha_power_gain}
        if action == "fallback_tier0":
            status = self._regulator.status()
            return {"state": str(status.state), "forced_reason": status.forced_reason}
        return {
            "frequency_hz": self._attention.frequency,
            "reference_frequency_hz": self._attention.reference_frequency,
        }

    def _fire(
        self, action: str, n: int, baseline: Values, name: str | None, alert: AlertmanagerAlert
    ) -> tuple[Values, Callable[[], None]]:
        """The values in force once the ``n``-th action of a kind is applied, and how to get
        there (fallback and recalibration are re-done: a new alert is a new cause)."""
        if action == "adjust_gain":
            return self._gain_to(stepped_gain(_number(baseline, "alpha_power_gain"), n))
        if action == "fallback_tier0":
            reason = f"alert {name} ({alert.fingerprint})"

            def force() -> None:
                self._regulator.force_fallback(reason)

            return {"state": str(NervousState.FALLBACK), "forced_reason": reason}, force
        applied: Values = {"frequency_hz": self._attention.reference_frequency}
        return applied, self._attention.recalibrate_phase

    def _withdraw(
        self, gone: RemediationRecord, baseline: Values, why: str
    ) -> tuple[Values, Callable[[], None]]:
        """The values in force once ``gone`` is withdrawn and the others of its kind remain."""
        others = [r for r in self._active.values() if r.action == gone.action and r is not gone]
        if gone.action == "adjust_gain":
            return self._gain_to(stepped_gain(_number(baseline, "alpha_power_gain"), len(others)))
        if gone.action == "fallback_tier0":
            forced = (
                others[-1].applied.get("forced_reason") if others else baseline.get("forced_reason")
            )

            def refallback() -> None:
                if isinstance(forced, str):  # another alert's, or the operator's own, fallback
                    self._regulator.force_fallback(forced)
                elif self._regulator.state is NervousState.FALLBACK:
                    self._regulator.release_fallback(why)

            state = str(NervousState.FALLBACK) if others else baseline.get("state")
            return {"state": state, "forced_reason": forced}, refallback
        if others:  # still recalibrated: the oscillator stays on its reference
            return self._read(gone.action), _nothing
        frequency = _number(baseline, "frequency_hz")

        def restore_frequency() -> None:
            self._attention.frequency = frequency  # phase stays continuous: see ADR 0012

        return dict(baseline), restore_frequency

    def _gain_to(self, gain: float) -> tuple[Values, Callable[[], None]]:
        def set_gain() -> None:
            self._attention.alpha_power_gain = gain

        return {"alpha_power_gain": gain}, set_gain

    # -- log --------------------------------------------------------------------------------

    def _active_for(self, fingerprint: str) -> RemediationRecord | None:
        return next((r for r in self._active.values() if r.fingerprint == fingerprint), None)

    def _revert(self, record: RemediationRecord, who: str, why: str) -> RemediationRecord:
        baseline = self._baseline[record.action]
        applied, enact = self._withdraw(record, baseline, why)
        revert = RemediationRecord(
            id=self._new_id(),
            at=self._clock.now().isoformat(),
            who=who,
            action=record.action,
            why=why,
            alertname=record.alertname,
            fingerprint=record.fingerprint,
            outcome="reverted",
            previous=self._read(record.action),
            applied=applied,
            reverts=record.id,
        )
        self._write(revert)  # first: the log never shows an action in force that is not
        del self._active[record.id]
        if not self._count(record.action):
            del self._baseline[record.action]
        enact()
        return revert

    def _record(
        self,
        who: str,
        action: str,
        why: str,
        alert: AlertmanagerAlert,
        *,
        outcome: Literal["applied", "ignored"] = "applied",
        previous: Values | None = None,
        applied: Values | None = None,
    ) -> RemediationRecord:
        return RemediationRecord(
            id=self._new_id(),
            at=self._clock.now().isoformat(),
            who=who,
            action=action,
            why=why,
            alertname=alert.labels.get("alertname"),
            fingerprint=alert.fingerprint,
            outcome=outcome,
            previous=previous or {},
            applied=applied or {},
        )

    def _write(self, record: RemediationRecord) -> RemediationRecord:
        """Append ``record`` and fsync; serialised before the file is opened, so a record that
        cannot be written leaves no torn line (and the caller has applied nothing yet)."""
        try:
            line = (record.model_dump_json() + "\n").encode("utf-8")
        except PydanticSerializationError:
            raise InputError(
                f"remediation record for alert {record.alertname!r} holds text that is not "
                "valid Unicode (a lone surrogate); nothing was applied; expected UTF-8 text"
            ) from None
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return record


def _check_encodable(notification: AlertmanagerNotification) -> None:
    """Refuse a notification whose text cannot be written to the log, before acting on any of
    its alerts: an alert applied but missing from the log would be an action nobody can see."""
    for index, alert in enumerate(notification.alerts):
        try:
            alert.model_dump_json()
        except PydanticSerializationError:
            raise InputError(
                f"alerts[{index}] (fingerprint {alert.fingerprint!r}) holds text that is not "
                "valid Unicode (a lone surrogate in its labels or annotations); nothing was "
                "applied; expected UTF-8 text"
            ) from None
    try:
        notification.model_dump_json()
    except PydanticSerializationError:
        raise InputError(
            "the notification holds text that is not valid Unicode (a lone surrogate); nothing "
            "was applied; expected UTF-8 text"
        ) from None
