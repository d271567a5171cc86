"""Canary rollout: route a stable X % of keys to the challenger, watch SLOs, decide by itself.

Why automatic: a canary exists to catch a bad model before most users meet it, which only
works if the verdict does not wait for a human. After ``min_requests`` challenger calls the SLOs
(p95 latency, mean diversity, error rate) are checked: all met → the challenger is promoted to
``champion``; any broken → the ``challenger`` alias is cleared (rolled back) and all traffic
returns to the champion. Errors are checked early too: once more than
``max_error_rate * min_requests`` calls have failed, no later success can redeem the canary.
A challenger's failed call is answered by the champion, so users never see the crash. Each
canary call's figures can also go to a metrics callback (``sink``), e.g. an MLflow run.
With a ``RolloutStore`` the canary's measurements, settings and verdict survive a restart: a
new process resumes the same canary (same routing, same evidence) instead of starting over.
"""

from __future__ import annotations

import statistics
from enum import StrEnum
from typing import Any, Protocol

from pydantic import Field

from emily.core import Clock, InputError, SovereignModel, system_clock
from emily.ops.registry import Decision
from emily.ops.rollout._hashing import in_percentage
from emily.ops.rollout._model import Answer, HypothesisModel, call_measured
from emily.ops.rollout._shadow import ComparisonSink
from emily.ops.rollout._state import RolloutStore

KIND = "canary"


class SLO(SovereignModel):
    """Service-level objectives the challenger must meet."""

    max_p95_latency_ms: float = Field(default=50.0, gt=0)
    min_diversity: float = Field(default=0.5, ge=0, le=1)
    max_error_rate: float = Field(default=0.01, ge=0, le=1)


class CanaryState(StrEnum):
    """Where a canary is in its life."""

    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    STOPPED = "stopped"


class CanaryReport(SovereignModel):
    """The challenger's measured behaviour so far and which SLOs it breaks."""

    requests: int
    p95_latency_ms: float | None
    mean_diversity: float | None
    error_rate: float | None
    breaches: list[str]


class AliasMover(Protocol):
    """The registry operations a canary needs (``ModelRegistry`` provides them)."""

    def promote(
        self, name: str, version: str, *, alias: str = "champion", who: str = ..., why: str
    ) -> Decision:
        """Point ``alias`` at ``version`` and record why."""
        ...

    def clear_alias(self, name: str, alias: str, *, who: str = ..., why: str) -> Decision:
        """Remove ``alias`` and record why."""
        ...


class _NotLoaded:
    """Stands in for a model a process never calls (the CLI, or a server that only measures)."""

    def generate(self, num_samples: int) -> list[Any]:
        raise InputError("this canary was loaded to be measured or decided, not to serve")


def _p95(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


class CanaryRollout:
    """Serve ``percent`` % of keys from ``challenger`` until the SLO verdict, then act on it."""

    def __init__(
        self,
        *,
        model_name: str,
        champion: HypothesisModel,
        challenger: HypothesisModel,
        challenger_version: str,
        registry: AliasMover,
        percent: float = 10.0,
        slo: SLO | None = None,
        min_requests: int = 50,
        clock: Clock | None = None,
        who: str = "canary",
        sink: ComparisonSink | None = None,
        store: RolloutStore | None = None,
    ) -> None:
        self.model_name = model_name
        self.champion, self.challenger = champion, challenger
        self.challenger_version = challenger_version
        self._registry = registry
        self.percent = percent
        self.slo = slo or SLO()
        self.min_requests = min_requests
        self._clock = clock or system_clock()
        self._who = who
        self._sink = sink
        self._answers: list[Answer] = []
        self.state = CanaryState.RUNNING
        self.decision: Decision | None = None
        self._store = store
        if store is not None:
            self._resume(store)

    @classmethod
    def from_store(
        cls,
        store: RolloutStore,
        rollout_id: str,
        *,
        registry: AliasMover,
        clock: Clock | None = None,
        who: str = "canary",
        sink: ComparisonSink | None = None,
    ) -> CanaryRollout:
        """The canary saved as ``rollout_id``, with its own settings, to measure or decide.

        Why: the CLI starts a canary and ``emily serve`` measures it; neither holds the other's
        objects, so each rebuilds the canary from the store (the contract between them).
        """
        saved = store.load_state(rollout_id, KIND)
        if saved is None:
            raise InputError(f"no canary {rollout_id!r} in {store.path}")
        settings = saved["settings"]
        return cls(
            model_name=saved["model"],
            champion=_NotLoaded(),
            challenger=_NotLoaded(),
            challenger_version=saved["challenger_version"],
            registry=registry,
            percent=settings["percent"],
            slo=SLO.model_validate(settings["slo"]),
            min_requests=settings["min_requests"],
            clock=clock,
            who=who,
            sink=sink,
            store=store,
        )

    @staticmethod
    def id_for(model_name: str, challenger_version: str) -> str:
        """The store id of the canary of ``challenger_version`` of ``model_name``."""
        return f"{KIND}:{model_name}:v{challenger_version}"

    @property
    def rollout_id(self) -> str:
        """The id of this canary in a ``RolloutStore``: one per model and challenger version."""
        return self.id_for(self.model_name, self.challenger_version)

    def _settings(self) -> dict[str, object]:
        return {
            "percent": self.percent,
            "min_requests": self.min_requests,
            "slo": self.slo.model_dump(),
        }

    def _resume(self, store: RolloutStore) -> None:
        """Pick up a canary this model and version already ran, or start a stored one."""
        saved = store.load_state(self.rollout_id, KIND)
        if saved is None:
            self._save()
            return
        if saved["settings"] != self._settings():
            raise InputError(
                f"canary {self.rollout_id} is already under way with settings "
                f"{saved['settings']}, not {self._settings()}: resume it with the same settings "
                "or register a new challenger version"
            )
        self.state = CanaryState(saved["state"])
        if saved.get("decision"):
            self.decision = Decision.model_validate_json(saved["decision"])
        self._answers = [
            Answer(
                hypotheses=[],
                latency_ms=m["latency_ms"],
                diversity=m["diversity"],
                error="failed before restart" if m["error"] else None,
            )
            for _arm, m in store.observations(self.rollout_id)
        ]

    def _save(self) -> None:
        if self._store is None:
            return
        state = {
            "model": self.model_name,
            "challenger_version": self.challenger_version,
            "settings": self._settings(),
            "state": self.state.value,
            "decision": None if self.decision is None else self.decision.model_dump_json(),
        }
        self._store.save_state(self.rollout_id, KIND, state)

    def routes_to_challenger(self, key: str) -> bool:
        """Whether ``key`` is in the canary's stable share of traffic while it runs."""
        salt = f"canary:{self.model_name}:{self.challenger_version}"
        return in_percentage(key, salt=salt, percent=self.percent)

    def generate(self, key: str, num_samples: int) -> list[Any]:
        """Answer the request for ``key``; canary calls are measured and may end the canary."""
        if self.state is CanaryState.PROMOTED:
            return list(self.challenger.generate(num_samples))
        if self.state is CanaryState.ROLLED_BACK or not self.routes_to_challenger(key):
            return list(self.champion.generate(num_samples))
        answer = call_measured(self.challenger, num_samples, self._clock)
        self.observe(answer)
        if answer.error is not None:
            return list(self.champion.generate(num_samples))
        return answer.hypotheses

    def observe(self, answer: Answer) -> CanaryState:
        """Record one challenger call measured elsewhere (e.g. a server's cognition batch).

        Ignored unless the canary runs: a verdict or a stop from another process is final.
        """
        if self.state is not CanaryState.RUNNING:
            return self.state
        self._answers.append(answer)
        measured = {
            "latency_ms": answer.latency_ms,
            "diversity": answer.diversity,
            "error": float(answer.error is not None),
        }
        if self._store is not None:
            self._store.append(self.rollout_id, "challenger", measured)
        if self._sink is not None:
            self._sink(len(self._answers), {f"canary.{k}": v for k, v in measured.items()})
        return self.evaluate()

    def finish(self, state: CanaryState, *, why: str, who: str | None = None) -> Decision | None:
        """End a running canary by hand: promote, roll back, or stop (``emily models canary``).

        Promoting moves ``champion`` to the challenger; rolling back and stopping clear the
        ``challenger`` alias if a version still holds it. Each is recorded in the ledger.
        """
        if self.state is not CanaryState.RUNNING:
            raise InputError(
                f"canary {self.rollout_id} has already ended ({self.state.value}): start a new one"
            )
        actor = who or self._who
        if state is CanaryState.PROMOTED:
            self.decision = self._registry.promote(
                self.model_name, self.challenger_version, alias="champion", who=actor, why=why
            )
        elif state in (CanaryState.ROLLED_BACK, CanaryState.STOPPED):
            try:
                self.decision = self._registry.clear_alias(
                    self.model_name, "challenger", who=actor, why=why
                )
            except InputError:  # nobody holds @challenger any more: nothing to clear
                self.decision = None
        else:
            raise InputError(f"a canary ends promoted, rolled-back or stopped, not {state.value}")
        self.state = state
        self._save()
        return self.decision

    def report(self) -> CanaryReport:
        """The challenger's figures so far against the SLOs."""
        n = len(self._answers)
        if n == 0:
            return CanaryReport(
                requests=0, p95_latency_ms=None, mean_diversity=None, error_rate=None, breaches=[]
            )
        ok = [a for a in self._answers if a.error is None]
        errors = n - len(ok)
        p95 = _p95([a.latency_ms for a in ok]) if ok else None
        div = statistics.fmean(a.diversity for a in ok) if ok else None
        breaches = []
        if p95 is not None and p95 > self.slo.max_p95_latency_ms:
            breaches.append(f"p95 latency {p95:.1f} ms > {self.slo.max_p95_latency_ms:g} ms")
        if div is not None and div < self.slo.min_diversity:
            breaches.append(f"diversity {div:.3f} < {self.slo.min_diversity:g}")
        if errors / n > self.slo.max_error_rate:
            breaches.append(f"error rate {errors / n:.3f} > {self.slo.max_error_rate:g}")
        return CanaryReport(
            requests=n,
            p95_latency_ms=p95,
            mean_diversity=div,
            error_rate=errors / n,
            breaches=breaches,
        )

    def evaluate(self) -> CanaryState:
        """Decide if the evidence suffices: promote, roll back, or keep running."""
        if self.state is not CanaryState.RUNNING:
            return self.state
        report = self.report()
        errors = sum(a.error is not None for a in self._answers)
        hopeless = errors > self.slo.max_error_rate * self.min_requests
        if report.requests < self.min_requests and not hopeless:
            return self.state
        evidence = (
            f"after {report.requests} canary requests at {self.percent:g} %: "
            f"p95={report.p95_latency_ms}, diversity={report.mean_diversity}, "
            f"error rate={report.error_rate}"
        )
        if report.breaches or hopeless:
            broken = "; ".join(report.breaches) or "error budget already exhausted"
            self.decision = self._registry.clear_alias(
                self.model_name,
                "challenger",
                who=self._who,
                why=f"canary rolled back: SLO broken ({broken}) {evidence}",
            )
            self.state = CanaryState.ROLLED_BACK
            self._save()
        else:
            self.decision = self._registry.promote(
                self.model_name,
                self.challenger_version,
                alias="champion",
                who=self._who,
                why=f"canary met every SLO {evidence}",
            )
            self.state = CanaryState.PROMOTED
            self._save()
        return self.state
