"""Blue-green switch of the serving model, gated by a smoke test, with a rollback window.

Why: switching the whole serving model at once is the simplest rollout, and safe when (a) the
new model must pass a smoke test before it takes traffic and (b) the old one stays loaded for
``rollback_window_s`` so going back is instant. After the window the old model is released.
With a ``RolloutStore`` the slots survive a restart: the new process serves the version that was
live (loaded by ``loader``), and the rollback window is measured on the clock's wall time, so it
closes when it would have closed had the process never stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emily.core import Clock, InputError, system_clock
from emily.ops.registry import Decision, DecisionRecorder
from emily.ops.rollout._model import HypothesisModel, call_measured
from emily.ops.rollout._state import RolloutStore

KIND = "blue-green"
ModelLoader = Callable[[str], HypothesisModel]
"""Loads a version of the model by its version string (e.g. from the registry)."""

SmokeTest = Callable[[HypothesisModel], str | None]
"""Returns ``None`` if the model is fit to serve, else the reason it is not."""


def default_smoke_test(model: HypothesisModel, num_samples: int = 8) -> str | None:
    """Pass if ``generate(num_samples)`` returns ``num_samples`` hypotheses without raising."""
    from emily.core import ManualClock

    answer = call_measured(model, num_samples, ManualClock())
    if answer.error is not None:
        return f"generate({num_samples}) raised {answer.error}"
    if len(answer.hypotheses) != num_samples:
        return f"generate({num_samples}) returned {len(answer.hypotheses)} hypotheses"
    return None


class BlueGreenDeployment:
    """Two slots, one live; ``deploy`` switches after a smoke test, ``rollback`` switches back.

    Args:
        model_name: Registered name, for the ledger.
        live: The model serving now.
        live_version: Its version.
        recorder: Where each switch, rejection and rollback is recorded.
        rollback_window_s: How long the previous model stays ready for an instant rollback.
        store: Where the slots are saved; a saved state (from an earlier process) wins over
            ``live``/``live_version``.
        loader: Loads a saved version after a restart (needed when the saved live version is
            not ``live_version``, and to roll back to a saved standby).
    """

    def __init__(
        self,
        model_name: str,
        live: HypothesisModel,
        live_version: str,
        *,
        recorder: DecisionRecorder,
        rollback_window_s: float = 3600.0,
        clock: Clock | None = None,
        who: str = "blue-green",
        store: RolloutStore | None = None,
        loader: ModelLoader | None = None,
    ) -> None:
        self.model_name = model_name
        self.live, self.live_version = live, live_version
        self.standby: HypothesisModel | None = None
        self.standby_version: str | None = None
        self._recorder = recorder
        self._window = rollback_window_s
        self._clock = clock or system_clock()
        self._who = who
        self._switched_at: datetime | None = None
        self._store = store
        self._loader = loader
        if store is not None:
            self._resume(store)

    @property
    def rollout_id(self) -> str:
        """The id of this deployment in a ``RolloutStore``: one per model."""
        return f"{KIND}:{self.model_name}"

    def _load(self, version: str) -> HypothesisModel:
        if self._loader is None:
            raise InputError(
                f"blue-green {self.model_name}: the saved state needs version {version}, "
                "but no loader was given to load it: pass loader=..."
            )
        return self._loader(version)

    def _resume(self, store: RolloutStore) -> None:
        saved = store.load_state(self.rollout_id, KIND)
        if saved is None:
            self._save()
            return
        if saved["live_version"] != self.live_version:
            self.live, self.live_version = self._load(saved["live_version"]), saved["live_version"]
        self.standby_version = saved["standby_version"]
        self.standby = None  # loaded on rollback: a restart should not load two models eagerly
        switched = saved["switched_at"]
        self._switched_at = None if switched is None else datetime.fromisoformat(switched)

    def _save(self) -> None:
        if self._store is None:
            return
        state = {
            "live_version": self.live_version,
            "standby_version": self.standby_version,
            "switched_at": None if self._switched_at is None else self._switched_at.isoformat(),
            "rollback_window_s": self._window,
        }
        self._store.save_state(self.rollout_id, KIND, state)

    def _record(self, what: str, why: str, version: str, previous: str | None) -> Decision:
        decision = Decision(
            who=self._who,
            what=what,
            why=why,
            when=self._clock.now(),
            model=self.model_name,
            version=version,
            previous_version=previous,
        )
        self._recorder.record(decision)
        return decision

    def generate(self, num_samples: int) -> list[Any]:
        """Answer from the live slot."""
        return list(self.live.generate(num_samples))

    @property
    def can_roll_back(self) -> bool:
        """Whether the previous model is still held (inside the rollback window)."""
        if self.standby_version is None or self._switched_at is None:
            return False
        if (self._clock.now() - self._switched_at).total_seconds() > self._window:
            self.standby, self.standby_version = None, None  # window over: release it
            self._save()
            return False
        return True

    def deploy(
        self,
        candidate: HypothesisModel,
        version: str,
        *,
        smoke_test: SmokeTest = default_smoke_test,
        why: str = "blue-green deploy",
    ) -> Decision:
        """Switch to ``candidate`` if it passes ``smoke_test``; otherwise keep the live model."""
        failure = smoke_test(candidate)
        if failure is not None:
            return self._record(
                "blue-green-rejected", f"smoke test failed: {failure}", version, self.live_version
            )
        self.standby, self.standby_version = self.live, self.live_version
        self.live, self.live_version = candidate, version
        self._switched_at = self._clock.now()
        self._save()
        return self._record("blue-green-switch", why, version, self.standby_version)

    def rollback(self, why: str) -> Decision:
        """Switch back to the previous model; only inside the rollback window."""
        if not self.can_roll_back:
            raise InputError(
                f"no rollback for {self.model_name}: the {self._window:g} s window has closed "
                "or nothing was switched"
            )
        assert self.standby_version is not None
        previous = self.standby or self._load(self.standby_version)
        failed = self.live_version
        self.live, self.standby = previous, None
        self.live_version, self.standby_version = self.standby_version, None
        self._switched_at = None
        self._save()
        return self._record("blue-green-rollback", why, self.live_version, failed)
