"""Cognition that honours the rollouts started from the CLI (``emily models canary|shadow|...``).

Why a module of its own: ``emily serve`` and ``emily run`` both serve cognition, and both must
route it by the rollouts in ``EMILY_HOME/ops/rollout.db``; each calls :func:`attach_rollouts`
after building its runtime, and the returned closer when it stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from emily.core import Clock
from emily.core.settings import EmilySettings

if TYPE_CHECKING:
    from emily.ops.rollout import RolloutRouter
    from emily.ops.tracking import MlflowTracker
    from emily.runtime.cognition_worker import HypothesisSource
    from emily.runtime.loop import TriuneRuntime
    from emily.runtime.structure import CognitionModel

ROLLOUT_RUN = "emily-serve-rollouts"
"""The MLflow run that shadow comparisons and canary observations are logged to."""


class RolloutTracking:
    """Shadow comparisons and canary observations to one MLflow run, opened on first use.

    Why lazy and forgiving: most servers never run a rollout (no run is opened for them), and a
    tracking outage must neither fail a cognition request nor keep a canary from its verdict.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tracker: MlflowTracker | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def __call__(self, step: int, metrics: dict[str, float]) -> None:
        with self._lock:
            try:
                if self._tracker is None:
                    from emily.ops.tracking import MlflowTracker

                    tracker = MlflowTracker(
                        run_name=ROLLOUT_RUN, unique_name=True, clock=self._clock
                    )
                    self._tracker = tracker.__enter__()
                self._tracker.callback(step, metrics)
            except Exception as exc:  # tracking is best effort here; the reason is kept
                self.last_error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        with self._lock:
            if self._tracker is not None:
                self._tracker.__exit__(None, None, None)
                self._tracker = None


def rollout_router(
    settings: EmilySettings,
    features: Sequence[str],
    champion: CognitionModel | None,
    clock: Clock,
    *,
    name: str | None = None,
) -> tuple[RolloutRouter[HypothesisSource], RolloutTracking]:
    """The router that makes a runtime honour `emily models canary|shadow|ab|bluegreen`."""
    from emily.ops.registry import ModelRegistry
    from emily.ops.rollout import RolloutRouter, RolloutStore
    from emily.runtime.champion import DEFAULT_MODEL
    from emily.runtime.structure import CausalStructureSource, CognitionModel, check_compatible

    name = name or (champion.name if champion is not None else DEFAULT_MODEL)

    def load(version: str) -> HypothesisSource:
        checkpoint = ModelRegistry().load_checkpoint(name, version)
        variant = check_compatible(checkpoint, features)
        model = CognitionModel(name=name, version=version, variant=variant, checkpoint=checkpoint)
        return CausalStructureSource(features, seed=settings.seed, model=model)

    tracking = RolloutTracking(clock)
    router: RolloutRouter[HypothesisSource] = RolloutRouter(
        RolloutStore.default(settings, clock=clock),
        name,
        champion.version if champion is not None else None,
        load_source=load,
        registry=ModelRegistry,
        clock=clock,
        sink=tracking,
    )
    return router, tracking


def attach_rollouts(
    runtime: TriuneRuntime,
    settings: EmilySettings,
    features: Sequence[str] | None,
    champion: CognitionModel | None,
    clock: Clock,
    *,
    name: str | None = None,
) -> Callable[[], None]:
    """Route ``runtime``'s cognition by the saved rollouts; returns what stops doing so.

    ``name`` is the registered model (default: the champion's, else ``emily-gflownet``).
    Without cognition (no features, or ``--no-cognition``) there is nothing to route.
    """
    worker = runtime.cognition
    if worker is None or not features:
        return lambda: None
    router, tracking = rollout_router(settings, features, champion, clock, name=name)
    router.start()
    worker.attach_router(router)

    def close() -> None:
        router.close()
        tracking.close()

    return close
