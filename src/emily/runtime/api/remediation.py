"""Alert-driven remediation: Alertmanager's alerts become reversible nervous-system actions.

Each alert rule in ``infra/prometheus/rules/emily.rules.yml`` that has a remedy names it in its
``remediation`` label; the runbooks in ``ops/runbooks/`` describe the same steps for a human:

* ``fallback_tier0`` - hold the regulator in Tier-0 fallback (reflexes only);
* ``recalibrate_phase`` - put the alpha oscillator back on its reference frequency and phase;
* ``adjust_gain`` - raise ``alpha_power_gain`` one step, so gating inhibits more again.

Every action is appended to ``EMILY_HOME/logs/remediation.jsonl`` (who, what, why, when, the
alert's fingerprint and the value it replaced), counted in ``emily_remediation_actions_total``
and reversible: the alert's ``resolved`` notification, or ``POST /remediation/{id}/revert``,
puts the previous value back. A firing alert that is delivered again while its action is in
force does nothing (Alertmanager re-sends on every ``repeat_interval``).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from prometheus_client import Counter
from pydantic import ValidationError

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


class Remediator:
    """Applies, logs, counts and reverts remediation actions; safe to share across threads."""

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
        """Act on each alert of one notification (firing: apply once; resolved: revert)."""
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
        self._handled.add(key)
        who = f"alertmanager ({receiver})"
        why = f"alert {name} firing since {alert.startsAt}"
        if action is None:
            skipped.append(f"{alert.fingerprint}: alert {name} has no remediation label")
            return
        apply = self._appliers().get(action)
        if apply is None:
            known = ", ".join(sorted(self._appliers()))
            record = self._record(
                who, action, f"{why}; unknown remediation {action!r} (known: {known})", alert
            )
            records.append(self._write(record.model_copy(update={"outcome": "ignored"})))
            return
        previous, applied = apply(f"alert {name} ({alert.fingerprint})")
        record = self._record(who, action, why, alert, previous=previous, applied=applied)
        self._active[record.id] = record
        self._counter.labels(action=action).inc()
        records.append(self._write(record))

    def _on_resolved(
        self, alert: AlertmanagerAlert, records: list[RemediationRecord], skipped: list[str]
    ) -> None:
        self._handled = {k for k in self._handled if k[0] != alert.fingerprint}
        active = self._active_for(alert.fingerprint)
        if active is None:
            skipped.append(f"{alert.fingerprint}: resolved, and no action of it is in force")
            return
        name = alert.labels.get("alertname")
        records.append(self._revert(active, "alertmanager", f"alert {name} resolved"))

    # -- explicit revert --------------------------------------------------------------------

    def revert(
        self, record_id: str, who: str, why: str = "reverted by request"
    ) -> RemediationRecord:
        """Revert the action ``record_id`` now.

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

    # -- actions ----------------------------------------------------------------------------

    def _appliers(self) -> dict[str, Callable[[str], tuple[Values, Values]]]:
        return {
            "adjust_gain": self._adjust_gain,
            "fallback_tier0": self._fallback,
            "recalibrate_phase": self._recalibrate,
        }

    def _fallback(self, reason: str) -> tuple[Values, Values]:
        status = self._regulator.status()
        ours = [r for r in self._active.values() if r.action == "fallback_tier0"]
        # Under another of our fallbacks, the state to restore is the one before the first.
        previous: Values = (
            dict(ours[0].previous)
            if ours
            else {"state": str(status.state), "forced_reason": status.forced_reason}
        )
        self._regulator.force_fallback(reason)
        return previous, {"state": str(self._regulator.state), "forced_reason": reason}

    def _recalibrate(self, reason: str) -> tuple[Values, Values]:
        previous: Values = {
            "frequency_hz": self._attention.frequency,
            "reference_frequency_hz": self._attention.reference_frequency,
        }
        self._attention.recalibrate_phase()
        return previous, {"frequency_hz": self._attention.frequency}

    def _adjust_gain(self, reason: str) -> tuple[Values, Values]:
        gain = self._attention.alpha_power_gain
        new = min(max(gain, MIN_GAIN_BASE) * GAIN_STEP, MAX_GAIN)
        self._attention.alpha_power_gain = max(new, gain)  # never lowers a gain set above MAX
        return {"alpha_power_gain": gain}, {"alpha_power_gain": self._attention.alpha_power_gain}

    def _undo(self, record: RemediationRecord, reason: str) -> None:
        previous = record.previous
        if record.action == "fallback_tier0":
            others = [r for r in self._active.values() if r.action == "fallback_tier0"]
            if others:  # another alert still wants fallback: keep holding it
                return
            forced = previous.get("forced_reason")
            if isinstance(forced, str):
                self._regulator.force_fallback(forced)
            elif self._regulator.state is NervousState.FALLBACK:
                self._regulator.release_fallback(reason)
        elif record.action == "recalibrate_phase":
            frequency = previous.get("frequency_hz")
            if isinstance(frequency, float):
                self._attention.frequency = frequency  # phase stays continuous: see ADR 0012
        elif record.action == "adjust_gain":
            gain = previous.get("alpha_power_gain")
            if isinstance(gain, float):
                self._attention.alpha_power_gain = gain

    # -- log --------------------------------------------------------------------------------

    def _active_for(self, fingerprint: str) -> RemediationRecord | None:
        return next((r for r in self._active.values() if r.fingerprint == fingerprint), None)

    def _revert(self, record: RemediationRecord, who: str, why: str) -> RemediationRecord:
        del self._active[record.id]
        self._undo(record, why)
        revert = RemediationRecord(
            id=self._new_id(),
            at=self._clock.now().isoformat(),
            who=who,
            action=record.action,
            why=why,
            alertname=record.alertname,
            fingerprint=record.fingerprint,
            outcome="reverted",
            previous=record.applied,
            applied=record.previous,
            reverts=record.id,
        )
        return self._write(revert)

    def _record(
        self,
        who: str,
        action: str,
        why: str,
        alert: AlertmanagerAlert,
        *,
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
            outcome="applied",
            previous=previous or {},
            applied=applied or {},
        )

    def _write(self, record: RemediationRecord) -> RemediationRecord:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("a", encoding="utf-8") as handle:
            handle.write(record.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record
