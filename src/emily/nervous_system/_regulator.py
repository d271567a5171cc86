"""The regulator: a state machine that routes each stimulus, with fallback to Tier 0 reflexes.

States and the edges between them (``ALLOWED_TRANSITIONS``)::

    RESTING ──stimulus──▶ PROCESSING ──idle_after_s without a stimulus──▶ RESTING
    RESTING, PROCESSING ──latency over budget │ dependency down │ forced──▶ FALLBACK
    FALLBACK ──no cause left──▶ RECOVERING ──recovery_successes good answers──▶ PROCESSING
    RECOVERING ──latency over budget │ dependency down │ forced──▶ FALLBACK (hold doubled)

Routing, for a stimulus whose alpha gain is ``g`` (thresholds in ``RegulatorConfig``):

* ``g < suppress_below``: ``SUPPRESS``, in every state (inhibited input is dropped);
* ``FALLBACK``: ``REFLEX_ONLY`` (Tier 0 alone answers);
* ``PROCESSING`` and ``g >= cognition_above``, or ``RECOVERING`` and
  ``g >= recovering_cognition_above``: ``REFLEX_THEN_COGNITION`` (the reflex answers now,
  cognition may follow);
* otherwise ``REFLEX_ONLY``.

Fallback has three causes, each cleared its own way, and lasts while any is active:

* *latency*: an answer slower than ``latency_budget_s`` starts a hold of ``fallback_hold_s``
  (a breach during fallback restarts it). A relapse from ``RECOVERING`` multiplies the hold by
  ``hold_backoff`` (at most ``max_fallback_hold_s``); reaching ``PROCESSING`` restores the base.
* *dependency*: ``report_dependency(name, up=False)``, until every such name reports up.
* *forced*: ``force_fallback(reason)`` until ``release_fallback(reason)``, which also lifts the
  latency hold (an operator's word that the cause is fixed); a dependency still down still holds.

Hysteresis: fallback never returns straight to ``PROCESSING``. ``RECOVERING`` lets cognition in
only for the most attended stimuli, and ends after ``recovery_successes`` consecutive answers
within ``recover_fraction * latency_budget_s``; a slower answer within budget restarts the count.

Time-based edges (idle, hold expiry) are applied before every call and on reading ``state``, and
are recorded at the time they fell due, so a ``ManualClock`` replays the same history.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from emily.core import Clock, InputError, SovereignModel, system_clock


class NervousState(StrEnum):
    """Where the regulator is (module docstring: the edges)."""

    RESTING = "resting"
    PROCESSING = "processing"
    FALLBACK = "fallback"
    RECOVERING = "recovering"


class Route(StrEnum):
    """Which tiers handle a stimulus."""

    REFLEX_ONLY = "reflex_only"
    REFLEX_THEN_COGNITION = "reflex_then_cognition"
    SUPPRESS = "suppress"


_S = NervousState
ALLOWED_TRANSITIONS = frozenset(
    {
        (_S.RESTING, _S.PROCESSING),
        (_S.RESTING, _S.FALLBACK),
        (_S.PROCESSING, _S.RESTING),
        (_S.PROCESSING, _S.FALLBACK),
        (_S.FALLBACK, _S.RECOVERING),
        (_S.RECOVERING, _S.PROCESSING),
        (_S.RECOVERING, _S.FALLBACK),
    }
)


class Transition(SovereignModel):
    """One change of state: from where, to where, why, and when (monotonic and UTC)."""

    from_state: NervousState
    to_state: NervousState
    reason: str
    time_s: float
    at: datetime


class RegulatorConfig(SovereignModel):
    """The regulator's thresholds; the defaults follow the seed's 50 ms budget."""

    latency_budget_s: float = Field(0.050, gt=0, description="Answer latency that breaks budget.")
    recover_fraction: float = Field(
        0.8, gt=0, le=1, description="A good answer in RECOVERING is within this part of budget."
    )
    recovery_successes: int = Field(
        5, ge=1, description="Consecutive good answers that end RECOVERING."
    )
    fallback_hold_s: float = Field(1.0, ge=0, description="Base hold after a latency breach.")
    hold_backoff: float = Field(2.0, ge=1, description="Hold multiplier at each relapse.")
    max_fallback_hold_s: float = Field(30.0, ge=0, description="Cap on the backed-off hold.")
    idle_after_s: float = Field(5.0, gt=0, description="PROCESSING -> RESTING after this quiet.")
    suppress_below: float = Field(0.1, ge=0, le=1, description="Gain under which to suppress.")
    cognition_above: float = Field(
        0.5, ge=0, le=1, description="Gain from which PROCESSING also asks cognition."
    )
    recovering_cognition_above: float = Field(
        0.8, ge=0, le=1, description="Gain from which RECOVERING also asks cognition."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.suppress_below <= self.cognition_above <= self.recovering_cognition_above:
            raise ValueError(
                "expected suppress_below <= cognition_above <= recovering_cognition_above"
            )
        if self.max_fallback_hold_s < self.fallback_hold_s:
            raise ValueError("expected max_fallback_hold_s >= fallback_hold_s")
        return self


class RegulatorStatus(SovereignModel):
    """Everything the regulator knows now, for ``emily doctor``, metrics and tests."""

    state: NervousState
    time_s: float
    dependencies_down: tuple[str, ...]
    forced_reason: str | None
    hold_until_s: float | None
    fallback_hold_s: float
    recovery_streak: int
    last_latency_s: float | None
    latency_breaches: int
    transitions: int
    routes: dict[Route, int]


Listener = Callable[[Transition], None]


class Regulator:
    """The nervous system's state machine (rules: module docstring). Safe to share across threads.

    Example:
        >>> from emily.core import ManualClock
        >>> regulator = Regulator(clock=ManualClock())
        >>> regulator.route(0.9), regulator.state.value
        (<Route.REFLEX_THEN_COGNITION: 'reflex_then_cognition'>, 'processing')
        >>> regulator.report_latency(0.080)
        >>> regulator.route(0.9), regulator.transitions()[-1].reason
        (<Route.REFLEX_ONLY: 'reflex_only'>, 'latency 80.0 ms over the 50.0 ms budget')
    """

    def __init__(
        self,
        config: RegulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        history: int = 10_000,
    ) -> None:
        """``history`` bounds how many transitions ``transitions()`` keeps (oldest dropped)."""
        self.config = config or RegulatorConfig()
        self._clock = clock or system_clock()
        self._lock = threading.Lock()
        self._state = NervousState.RESTING
        self._history: deque[Transition] = deque(maxlen=history)
        self._pending: list[Transition] = []  # made under the lock, told to listeners after it
        self._listeners: list[Listener] = []
        self._last_activity = self._clock.monotonic()
        self._down: set[str] = set()
        self._forced: str | None = None
        self._hold_until: float | None = None
        self._hold_s = self.config.fallback_hold_s
        self._streak = 0
        self._last_latency: float | None = None
        self._breaches = 0
        self._transitions = 0
        self._routes = dict.fromkeys(Route, 0)

    # -- events from the runtime ------------------------------------------------------------

    def route(self, gain: float) -> Route:
        """Choose the tiers for one stimulus whose alpha gain is ``gain`` (in [0, 1])."""
        if not 0.0 <= gain <= 1.0:  # also rejects NaN
            raise InputError(f"gain={gain!r}; expected a number in [0, 1]")
        with self._event() as now:
            if self._state is NervousState.RESTING:
                self._move(NervousState.PROCESSING, "stimulus arrived", now)
            self._last_activity = now
            chosen = self._choose(gain)
            self._routes[chosen] += 1
        return chosen

    def report_latency(self, seconds: float) -> None:
        """Record how long the answer to a stimulus took (clock seconds, ``>= 0``)."""
        if not 0.0 <= seconds < float("inf"):
            raise InputError(f"latency {seconds!r} s; expected a finite number >= 0")
        cfg = self.config
        with self._event() as now:
            self._last_latency = seconds
            if seconds > cfg.latency_budget_s:
                self._breach(seconds, now)
            elif self._state is NervousState.RECOVERING:
                good = seconds <= cfg.recover_fraction * cfg.latency_budget_s
                self._streak = self._streak + 1 if good else 0
                if self._streak >= cfg.recovery_successes:
                    self._hold_s = cfg.fallback_hold_s
                    self._last_activity = now
                    budget_ms = cfg.recover_fraction * cfg.latency_budget_s * 1e3
                    reason = f"{self._streak} answers within {budget_ms:.1f} ms"
                    self._move(NervousState.PROCESSING, reason, now)

    def report_dependency(self, name: str, up: bool) -> None:
        """A dependency (engine, bus, cognition worker) reports up or down."""
        if not (isinstance(name, str) and name):
            raise InputError(f"dependency name {name!r}; expected a non-empty string")
        with self._event() as now:
            if up:
                if name in self._down:
                    self._down.discard(name)
                    self._recover_if_clear(f"dependency {name} up", now)
            elif name not in self._down:
                self._down.add(name)
                self._enter_fallback(f"dependency {name} down", now)

    # -- remediation ------------------------------------------------------------------------

    def force_fallback(self, reason: str) -> None:
        """Hold Tier-0-only fallback until ``release_fallback`` (e.g. by alert remediation)."""
        with self._event() as now:
            self._forced = reason
            self._enter_fallback(f"forced: {reason}", now)

    def release_fallback(self, reason: str) -> None:
        """Lift a forced fallback and any latency hold; recovery then starts unless a dependency
        is still down. Does nothing outside fallback."""
        with self._event() as now:
            self._forced = None
            self._hold_until = None
            self._recover_if_clear(f"released: {reason}", now)

    # -- observation ------------------------------------------------------------------------

    @property
    def state(self) -> NervousState:
        """The current state (time-based edges that fell due are applied first)."""
        with self._event():
            return self._state

    def transitions(self) -> tuple[Transition, ...]:
        """Every transition kept (``history`` most recent), oldest first."""
        with self._event():
            return tuple(self._history)

    def status(self) -> RegulatorStatus:
        """A snapshot: state, active fallback causes, recovery progress and counters."""
        with self._event() as now:
            return RegulatorStatus(
                state=self._state,
                time_s=now,
                dependencies_down=tuple(sorted(self._down)),
                forced_reason=self._forced,
                hold_until_s=self._hold_until,
                fallback_hold_s=self._hold_s,
                recovery_streak=self._streak,
                last_latency_s=self._last_latency,
                latency_breaches=self._breaches,
                transitions=self._transitions,
                routes=dict(self._routes),
            )

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every future transition (e.g. to export metrics).

        Returns a function that removes it again.
        """
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._remove_listener(listener)

    # -- internals --------------------------------------------------------------------------

    @contextmanager
    def _event(self) -> Iterator[float]:
        """Lock, apply the edges that fell due, yield ``now``; tell listeners after unlocking."""
        self._lock.acquire()
        try:
            now = self._clock.monotonic()
            self._settle(now)
            yield now
        finally:
            told, self._pending = self._pending, []
            listeners = tuple(self._listeners)
            self._lock.release()
            for record in told:
                for listener in listeners:
                    listener(record)

    def _remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _choose(self, gain: float) -> Route:
        cfg = self.config
        if gain < cfg.suppress_below:
            return Route.SUPPRESS
        cognition_from = {
            NervousState.PROCESSING: cfg.cognition_above,
            NervousState.RECOVERING: cfg.recovering_cognition_above,
        }.get(self._state)
        if cognition_from is not None and gain >= cognition_from:
            return Route.REFLEX_THEN_COGNITION
        return Route.REFLEX_ONLY

    def _settle(self, now: float) -> None:
        """Apply the time-based edges that fell due by ``now``, at the time each fell due."""
        if self._state is NervousState.PROCESSING:
            due = self._last_activity + self.config.idle_after_s
            if due <= now:
                self._move(NervousState.RESTING, f"idle for {self.config.idle_after_s:g} s", due)
        elif self._state is NervousState.FALLBACK and self._hold_until is not None:
            due = self._hold_until
            if due <= now:
                self._hold_until = None
                self._recover_if_clear("fallback hold expired", due)

    def _breach(self, seconds: float, now: float) -> None:
        cfg = self.config
        self._breaches += 1
        budget_ms = cfg.latency_budget_s * 1e3
        reason = f"latency {seconds * 1e3:.1f} ms over the {budget_ms:.1f} ms budget"
        if self._state is NervousState.RECOVERING:
            self._hold_s = min(self._hold_s * cfg.hold_backoff, cfg.max_fallback_hold_s)
            reason += f" while recovering; hold now {self._hold_s:g} s"
        self._hold_until = now + self._hold_s
        self._enter_fallback(reason, now)

    def _enter_fallback(self, reason: str, now: float) -> None:
        if self._state is not NervousState.FALLBACK:
            self._move(NervousState.FALLBACK, reason, now)

    def _recover_if_clear(self, reason: str, now: float) -> None:
        clear = not self._down and self._forced is None and self._hold_until is None
        if self._state is NervousState.FALLBACK and clear:
            self._streak = 0
            self._move(NervousState.RECOVERING, reason, now)

    def _move(self, to: NervousState, reason: str, when: float) -> None:
        assert (self._state, to) in ALLOWED_TRANSITIONS, (self._state, to)
        at = self._clock.now() - timedelta(seconds=self._clock.monotonic() - when)
        record = Transition(from_state=self._state, to_state=to, reason=reason, time_s=when, at=at)
        self._state = to
        self._transitions += 1
        self._history.append(record)
        self._pending.append(record)
