"""Rollouts honoured by a serving process: the CLI writes the rollout, the server obeys it.

Why through the store: ``emily models canary start`` and ``emily serve`` are different
processes. The rollout's state in ``EMILY_HOME/ops/rollout.db`` is their contract: the server
re-reads it every ``refresh_s`` seconds in a background thread (so a rollout started from the
CLI takes effect without a restart, and the request path never waits on SQLite or on loading a
model), routes each cognition request by it, and records every challenger batch as an
observation. After ``min_requests`` observations the canary's SLO verdict promotes the
challenger (``@champion`` moves) or rolls it back (``@challenger`` is cleared), through the
registry, so ``emily models history`` shows the verdict.

Shadow mode runs both models on the same window; only the champion answers, and the comparison
goes to a sink (an MLflow run in ``emily serve``). An A/B test assigns each request by a stable
hash, records both arms, and once Welch's test names a winner the verdict goes to the ledger
(a human promotes: an A/B test answers "which is better", not "is it safe"). A blue-green
switch makes its live version serve every request, until it is rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import Field

from emily.core import Clock, EmilyError, SovereignModel, system_clock
from emily.ops.registry import DecisionRecorder
from emily.ops.rollout._ab import KIND as AB
from emily.ops.rollout._ab import ABTest, ABVerdict
from emily.ops.rollout._bluegreen import KIND as BLUE_GREEN
from emily.ops.rollout._canary import KIND as CANARY
from emily.ops.rollout._canary import AliasMover, CanaryRollout, CanaryState
from emily.ops.rollout._hashing import assign_variant, in_percentage
from emily.ops.rollout._model import Answer
from emily.ops.rollout._shadow import ComparisonSink
from emily.ops.rollout._state import RolloutStore

SHADOW = "shadow"
AB_SETTINGS = f"{AB}-settings"
Arm = Literal["champion", "challenger", "shadow"]
S = TypeVar("S")


class ShadowSettings(SovereignModel):
    """A shadow rollout as the CLI saves it: which version runs beside the champion."""

    model: str
    challenger_version: str
    state: Literal["running", "stopped"] = "running"


class ABSettings(SovereignModel):
    """An A/B test of a challenger against the champion, as the CLI saves it.

    The arms are named by version, so the ledger's verdict names the winning version.
    """

    model: str
    champion_version: str
    challenger_version: str
    share: float = Field(gt=0, lt=1)
    metric: Literal["latency_ms", "diversity", "error"] = "diversity"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    min_samples: int = Field(default=30, ge=2)
    state: Literal["running", "decided", "stopped"] = "running"
    verdict: str | None = None

    @property
    def experiment(self) -> str:
        """The test's name (its hashing salt): one per model and challenger version."""
        return f"{self.model}-v{self.challenger_version}"

    @property
    def weights(self) -> dict[str, float]:
        """Traffic weight per arm, control (the champion) first."""
        return {self.champion_version: 1.0 - self.share, self.challenger_version: self.share}

    def test(self, store: RolloutStore) -> ABTest:
        """The ``ABTest`` holding this test's evidence in ``store``."""
        return ABTest(self.experiment, self.weights, alpha=self.alpha,
                      min_samples=self.min_samples, store=store)  # fmt: skip

    def analyse(self, store: RolloutStore) -> ABVerdict:
        """Welch's test on ``metric`` (lower latency and error are better)."""
        return self.test(store).analyse(self.metric, higher_is_better=self.metric == "diversity")


def ab_id(model_name: str, challenger_version: str) -> str:
    """The store id of the A/B settings of ``challenger_version`` (its evidence: ``ab:NAME``)."""
    return f"{AB}-settings:{model_name}:v{challenger_version}"


def shadow_id(model_name: str) -> str:
    """The store id of ``model_name``'s shadow rollout (one at a time per model)."""
    return f"{SHADOW}:{model_name}"


@dataclass(frozen=True)
class Route(Generic[S]):
    """Where one request goes: the arm, the source that answers, and the shadow (if any)."""

    arm: Arm
    source: S
    shadow: S | None = None
    rollout: str | None = None
    experiment: ABSettings | None = None
    variant: str | None = None


class RolloutRegistry(AliasMover, Protocol):
    """The registry a server's rollouts act through: alias moves and the decision ledger."""

    @property
    def ledger(self) -> DecisionRecorder:
        """Where verdicts that move no alias (A/B) are recorded."""
        ...


class RolloutRouter(Generic[S]):
    """Route a model's requests by the rollouts saved in ``store``; measure the challenger.

    Args:
        store: The rollout store the CLI writes.
        model_name: The registered model being served.
        champion_version: The version the server started from (``None``: no champion).
        load_source: Builds a serving source for a version (loads its checkpoint: slow, so
            only the refresh thread calls it, once per version).
        registry: Builds the registry that carries out a verdict (made on first use).
        sink: Receives each shadow comparison and canary observation (e.g. MLflow).
        refresh_s: How often the store is re-read.
    """

    def __init__(
        self,
        store: RolloutStore,
        model_name: str,
        champion_version: str | None,
        *,
        load_source: Callable[[str], S],
        registry: Callable[[], RolloutRegistry],
        clock: Clock | None = None,
        sink: ComparisonSink | None = None,
        refresh_s: float = 2.0,
    ) -> None:
        self.store, self.model_name = store, model_name
        self.champion_version = champion_version
        self._load = load_source
        self._make_registry = registry
        self._registry: RolloutRegistry | None = None
        self._clock = clock or system_clock()
        self._sink = sink
        self._refresh_s = refresh_s
        self._sources: dict[str, S] = {}
        self._lock = threading.Lock()
        self._canary: tuple[str, str, float] | None = None  # (rollout id, version, percent)
        self._shadow: str | None = None  # version
        self._ab: ABSettings | None = None
        self._promoted: str | None = None  # a canary promoted this version while we served
        self._since = self._clock.now()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self._shadow_calls = 0

    def start(self) -> None:
        """Read the store now, then every ``refresh_s`` seconds in a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="rollout-router", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the refresh thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_s):
            self.refresh()

    def _source(self, version: str) -> S:
        if version not in self._sources:
            self._sources[version] = self._load(version)
        return self._sources[version]

    def refresh(self) -> None:
        """Re-read this model's rollouts; load a new challenger's source before routing to it.

        A failure (a version that cannot be loaded, a locked store) keeps the last routing and
        is kept in ``last_error``: serving the champion is always safe.
        """
        try:
            canary: tuple[str, str, float] | None = None
            shadow: str | None = None
            promoted: str | None = None
            ab: ABSettings | None = None
            for record in reversed(self.store.records()):  # oldest first: latest wins
                state = record.state
                if state.get("model", self.model_name) != self.model_name:
                    continue
                if record.kind == CANARY:
                    version = str(state["challenger_version"])
                    if state["state"] == CanaryState.RUNNING.value:
                        canary = (record.id, version, float(state["settings"]["percent"]))
                    elif state["state"] == CanaryState.PROMOTED.value and (
                        datetime.fromisoformat(record.updated_at) >= self._since
                    ):  # an older promotion is already (or, after a rollback, no longer) champion
                        promoted = version
                elif record.kind == BLUE_GREEN and record.id == f"{BLUE_GREEN}:{self.model_name}":
                    promoted = str(state["live_version"])  # the live slot serves everything
                elif record.kind == AB_SETTINGS:
                    settings_ab = ABSettings.model_validate(state)
                    ab = settings_ab if settings_ab.state == "running" else None
                elif record.kind == SHADOW:
                    settings = ShadowSettings.model_validate(state)
                    shadow = settings.challenger_version if settings.state == "running" else None
            challengers = (canary[1] if canary else None, shadow, promoted)
            for wanted in (*challengers, ab.challenger_version if ab else None):
                if wanted is not None and wanted != self.champion_version:
                    self._source(wanted)
            with self._lock:
                self._canary, self._shadow, self._ab = canary, shadow, ab
                self._promoted = None if promoted == self.champion_version else promoted
            self.last_error = None
        except (EmilyError, OSError, KeyError, ValueError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"

    def route(self, key: str, champion: S) -> Route[S]:
        """Where the request for ``key`` goes; never touches the store (the request path)."""
        with self._lock:
            canary, shadow, promoted, ab = self._canary, self._shadow, self._promoted, self._ab
        if promoted is not None and promoted in self._sources:
            champion = self._sources[promoted]
        if canary is not None and canary[1] in self._sources:
            rollout, version, percent = canary
            salt = f"{CANARY}:{self.model_name}:{version}"
            if in_percentage(key, salt=salt, percent=percent):
                return Route(arm="challenger", source=self._sources[version], rollout=rollout)
        if ab is not None and ab.challenger_version in self._sources:
            variant = assign_variant(key, salt=f"{AB}:{ab.experiment}", weights=ab.weights)
            if variant == ab.challenger_version:
                challenger = self._sources[variant]
                return Route(arm="challenger", source=challenger, experiment=ab, variant=variant)
            return Route(arm="champion", source=champion, experiment=ab, variant=variant)
        if shadow is not None and shadow in self._sources:
            return Route(arm="shadow", source=champion, shadow=self._sources[shadow])
        return Route(arm="champion", source=champion)

    def observe(self, route: Route[S], answer: Answer) -> CanaryState | None:
        """Record a measured batch; a canary or an A/B test may decide on it (and act)."""
        if route.experiment is not None and route.variant is not None:
            self._observe_ab(route.experiment, route.variant, answer)
            return None
        if route.arm != "challenger" or route.rollout is None:
            return None
        if self._registry is None:
            self._registry = self._make_registry()
        canary = CanaryRollout.from_store(
            self.store, route.rollout, registry=self._registry, clock=self._clock, sink=self._sink
        )
        state = canary.observe(answer)
        if state is CanaryState.PROMOTED:
            with self._lock:
                self._promoted, self._canary = canary.challenger_version, None
        elif state is not CanaryState.RUNNING:
            with self._lock:
                self._canary = None
        return state

    def _observe_ab(self, settings: ABSettings, variant: str, answer: Answer) -> None:
        saved = self.store.load_state(ab_id(settings.model, settings.challenger_version),
                                      AB_SETTINGS)  # fmt: skip
        if saved is None or saved["state"] != "running":  # stopped or decided elsewhere
            return
        test = settings.test(self.store)
        test.record(
            variant,
            {
                "latency_ms": answer.latency_ms,
                "diversity": answer.diversity,
                "error": float(answer.error is not None),
            },
        )
        verdict = settings.analyse(self.store)
        if verdict.winner is None:
            return
        if self._registry is None:
            self._registry = self._make_registry()
        test.record_verdict(verdict, self._registry.ledger, model=self.model_name,
                            clock=self._clock)  # fmt: skip
        decided = settings.model_copy(update={"state": "decided", "verdict": verdict.summary})
        self.store.save_state(ab_id(settings.model, settings.challenger_version), AB_SETTINGS,
                              decided.model_dump())  # fmt: skip
        with self._lock:
            self._ab = None

    def compare(self, champion: Answer, shadow: Answer, overlap: float) -> None:
        """Log one shadow comparison (only the champion's answer was served)."""
        if self._sink is None:
            return
        self._shadow_calls += 1
        self._sink(
            self._shadow_calls,
            {
                "shadow.production_latency_ms": champion.latency_ms,
                "shadow.candidate_latency_ms": shadow.latency_ms,
                "shadow.production_diversity": champion.diversity,
                "shadow.candidate_diversity": shadow.diversity,
                "shadow.candidate_error": float(shadow.error is not None),
                "shadow.overlap": overlap,
            },
        )
