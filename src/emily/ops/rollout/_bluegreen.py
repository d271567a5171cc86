"""Blue-green switch of the serving model, gated by a smoke test, with a rollback window.

Why: switching the whole serving model at once is the simplest rollout, and safe when (a) the
new model must pass a smoke test before it takes traffic and (b) the old one stays loaded for
``rollback_window_s`` so going back is instant. After the window the old model is released.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emily.core import Clock, InputError, system_clock
from emily.ops.registry import Decision, DecisionRecorder
from emily.ops.rollout._model import HypothesisModel, call_measured

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
    ) -> None:
        self.model_name = model_name
        self.live, self.live_version = live, live_version
        self.standby: HypothesisModel | None = None
        self.standby_version: str | None = None
        self._recorder = recorder
        self._window = rollback_window_s
        self._clock = clock or system_clock()
        self._who = who
        self._switched_at: float | None = None

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
        if self.standby is None or self._switched_at is None:
            return False
        if self._clock.monotonic() - self._switched_at > self._window:
            self.standby, self.standby_version = None, None  # window over: release it
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
        self._switched_at = self._clock.monotonic()
        return self._record("blue-green-switch", why, version, self.standby_version)

    def rollback(self, why: str) -> Decision:
        """Switch back to the previous model; only inside the rollback window."""
        if not self.can_roll_back:
            raise InputError(
                f"no rollback for {self.model_name}: the {self._window:g} s window has closed "
                "or nothing was switched"
            )
        assert self.standby is not None
        assert self.standby_version is not None
        failed = self.live_version
        self.live, self.standby = self.standby, None
        self.live_version, self.standby_version = self.standby_version, None
        self._switched_at = None
        return self._record("blue-green-rollback", why, self.live_version, failed)
