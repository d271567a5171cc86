"""Request and response bodies of the HTTP API (all ``SovereignModel``: strict, closed, frozen).

The Alertmanager models follow its webhook payload, version 4
(https://prometheus.io/docs/alerting/latest/configuration/#webhook_config); they are closed, so a
future Alertmanager that adds a field fails loudly (422) instead of being half understood, and the
end-to-end test against the packaged Alertmanager guards the shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emily.core import SovereignModel
from emily.nervous_system import AlphaDiagnostics, RegulatorStatus
from emily.ops.flags import FlagSpec
from emily.runtime.loop import Answer, HypothesisBatch
from emily.runtime.stimuli import Stimulus
from emily.runtime.teacher import TeacherStatus

MAX_BATCH = 10_000
"""Most stimuli one ``POST /stimuli/batch`` may carry (the body limit applies as well)."""

MAX_ALERTS = 1_000
"""Most alerts one webhook notification may carry (Alertmanager groups by alert name)."""


class ErrorBody(SovereignModel):
    """A refused request: what was wrong and what is expected."""

    detail: str


class StimulusBatch(SovereignModel):
    """Several stimuli, validated together before the first is handled."""

    stimuli: list[Stimulus] = Field(min_length=1, max_length=MAX_BATCH)


class BatchAnswers(SovereignModel):
    """One answer per stimulus, in order."""

    answers: list[Answer]


class Hypotheses(SovereignModel):
    """The hypothesis batches cognition produced most recently, oldest first."""

    batches: list[HypothesisBatch]


class FlagsView(SovereignModel):
    """The flags in force, and why the file on disk is ignored if it is."""

    flags: dict[str, FlagSpec]
    error: str | None


class FlagUpdate(SovereignModel):
    """Set a flag's default variant, or start a percentage rollout of a variant."""

    variant: str = Field(min_length=1, max_length=200)
    percent: float | None = Field(default=None, ge=0.0, le=100.0, allow_inf_nan=False)
    enabled: bool | None = None


class LatencySummary(SovereignModel):
    """Percentiles of the recent answer latencies (``None`` before the first answer)."""

    count: int
    p50_s: float | None
    p90_s: float | None
    p99_s: float | None
    max_s: float | None


class StateView(SovereignModel):
    """What the nervous system is doing now."""

    regulator: RegulatorStatus
    tiers: dict[str, int]
    latency: LatencySummary
    alpha: AlphaDiagnostics
    teacher: TeacherStatus


class TransitionView(SovereignModel):
    """One regulator transition, for diagnostics."""

    from_state: str
    to_state: str
    reason: str
    time_s: float


class Diagnostics(SovereignModel):
    """Everything useful when something looks wrong, in one read."""

    version: str
    alpha: AlphaDiagnostics
    regulator: RegulatorStatus
    recent_transitions: list[TransitionView]
    reflexes: int
    lessons_learned: int
    cognition_enabled: bool
    cognition_failures: int
    cognition_last_error: str | None
    flags_error: str | None
    active_remediations: int


class Health(SovereignModel):
    """Liveness: the process answers."""

    status: Literal["ok"]


class Readiness(SovereignModel):
    """Readiness: each check and whether it passed (503 when one failed)."""

    ready: bool
    checks: dict[str, str]


class AlertmanagerAlert(SovereignModel):
    """One alert in an Alertmanager webhook notification."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str  # noqa: N815 - Alertmanager's field names
    endsAt: str = ""  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = Field(min_length=1, max_length=200)


class AlertmanagerNotification(SovereignModel):
    """The Alertmanager webhook payload (version 4)."""

    version: Literal["4"]
    groupKey: str  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str]  # noqa: N815
    commonLabels: dict[str, str]  # noqa: N815
    commonAnnotations: dict[str, str]  # noqa: N815
    externalURL: str  # noqa: N815
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_ALERTS)


class RemediationRecord(SovereignModel):
    """One remediation action (or a refusal to act), as logged in ``remediation.jsonl``."""

    id: str
    at: str
    who: str
    action: str
    why: str
    alertname: str | None
    fingerprint: str | None
    outcome: Literal["applied", "reverted", "ignored"]
    previous: dict[str, float | str | None]
    applied: dict[str, float | str | None]
    reverts: str | None = None


class WebhookResult(SovereignModel):
    """What the webhook did with each alert of a notification: logged records, and why the
    other alerts were skipped (duplicates of an action already in force, nothing to revert)."""

    records: list[RemediationRecord]
    skipped: list[str]


class RemediationLogView(SovereignModel):
    """The remediation log, oldest first, and which actions are still in force."""

    records: list[RemediationRecord]
    active: list[str]
