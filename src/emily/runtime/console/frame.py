"""One frame of the live console: what the running mind is doing now, as one JSON-ready value.

Why a frame is built on the server and not assembled by the page from ``/state`` and friends:
the oscillator runs at ~8 Hz and the console refreshes a few times a second, so one reading
per refresh would alias it into a slow, wrong wave. The frame instead carries a finely sampled
window of the oscillator (``OscillatorView``: the gain at ``points`` instants over the last
``window_s`` seconds, computed from the oscillator's own frequency, phase anchor and power by
its read-only probes), plus the counters whose differences give rates between frames.

Reading a frame never changes the runtime: it uses ``snapshot``, ``status``, ``transitions``,
``diagnostics`` and the read-only ``gain_at``/``phase_at`` probes. It takes the runtime's locks
for a copy each, as ``/state`` does; ``FrameBuilder`` is built once per tick whatever the number
of viewers (see ``console.hub``), so the reflex path pays that once per tick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from emily.core import Clock, SovereignModel
from emily.runtime.api.models import RemediationRecord
from emily.runtime.loop import HypothesisBatch, TriuneRuntime

RemediationSource = Callable[[], tuple[list[RemediationRecord], list[str] | None]]
"""Returns the remediation log (oldest first) and the ids in force (``None``: not known here)."""

ANSWER_TIERS = ("instinct", "none", "suppressed")
SHOWN_TRANSITIONS = 50
SHOWN_REMEDIATIONS = 12
SHOWN_HYPOTHESES = 5
_DIGITS = 4
"""Samples are rounded to this many decimals: a 160-point window stays about 1 KB of JSON."""


class OscillatorView(SovereignModel):
    """The alpha oscillator over the last ``window_s`` seconds, finely sampled (no aliasing)."""

    frequency_hz: float
    phase_rad: float
    effective_power: float
    gain_now: float
    open_fraction: float
    threshold: float
    """Gain under which the regulator suppresses a stimulus: below it the gate is closed."""
    window_s: float
    t: list[float]
    """Sample times in seconds relative to now (``-window_s`` .. ``0``)."""
    gain: list[float]
    phase: list[float]
    """Phase in radians, in [0, 2*pi), at each sample time."""
    closed: list[tuple[float, float]]
    """Intervals (relative seconds) in which the gain was under ``threshold``."""
    last_reset_ago_s: float | None


class TrafficView(SovereignModel):
    """Stimuli answered, in total and since the previous frame."""

    answered: int
    tiers: dict[str, int]
    """Cumulative counts: ``instinct``, ``none``, ``suppressed``, ``cognition``, ..."""
    interval_s: float | None
    per_s: float | None
    """Stimuli per second since the previous frame (``None`` for the first frame)."""
    shares: dict[str, float]
    """Share of each answer tier among the stimuli since the previous frame."""


class LatencyView(SovereignModel):
    """Percentiles of the most recent answers' latency (the runtime keeps the last 10,000)."""

    count: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class TransitionPoint(SovereignModel):
    """One regulator transition, placed relative to now."""

    from_state: str
    to_state: str
    reason: str
    ago_s: float


class RegulatorView(SovereignModel):
    """The regulator's state, why it is there, and its recent transitions (oldest first)."""

    state: str
    forced_reason: str | None
    dependencies_down: list[str]
    latency_breaches: int
    transitions: list[TransitionPoint]


class ReflexView(SovereignModel):
    """Reflex memory: its size, and how answers went since the previous frame."""

    size: int
    learned: int
    pending_lessons: int
    hit_rate: float | None
    """Hits among the stimuli that reached the memory (not suppressed)."""
    miss_rate: float | None
    """Misses (below the hit threshold: the stimulus looks novel) among the same."""
    wrong_rate: float | None
    """Hits whose response disagreed with the stimulus's label, among labelled hits."""


class DagView(SovereignModel):
    """One hypothesis as a graph: its edges parsed from cognition's ``a→b, c→d`` description."""

    description: str
    share: float
    log_reward: float
    edges: list[tuple[str, str]]


class CognitionView(SovereignModel):
    """Cognition's latest hypotheses as DAGs, with edge marginals over the reported ones."""

    enabled: bool
    batches: int
    failures: int
    last_error: str | None
    nodes: list[str]
    hypotheses: list[DagView]
    marginals: list[list[float]]
    """``marginals[i][j]``: share-weighted frequency of the edge ``nodes[i]→nodes[j]`` among the
    reported hypotheses (normalised by their total share)."""
    diversity: float | None
    mode_collapse: bool | None
    latency_s: float | None


class RemediationView(SovereignModel):
    """The most recent remediation records, newest first, and the ids in force."""

    records: list[RemediationRecord]
    active: list[str] | None


class ConsoleFrame(SovereignModel):
    """Everything the console draws, at one instant."""

    seq: int
    at: datetime
    rate_hz: float
    oscillator: OscillatorView
    traffic: TrafficView
    latency: LatencyView
    regulator: RegulatorView
    reflexes: ReflexView
    cognition: CognitionView
    remediation: RemediationView


def parse_edges(description: str) -> list[tuple[str, str]]:
    """``"a→b, c→d"`` as ``[("a", "b"), ("c", "d")]``; ``"(independent)"`` has none."""
    edges = []
    for part in description.split(", "):
        source, arrow, target = part.partition("→")
        if arrow and source.strip() and target.strip():
            edges.append((source.strip(), target.strip()))
    return edges


def edge_marginals(nodes: Sequence[str], hypotheses: Sequence[DagView]) -> list[list[float]]:
    """Share-weighted edge frequencies over ``hypotheses`` (see ``CognitionView.marginals``)."""
    index = {name: i for i, name in enumerate(nodes)}
    grid = np.zeros((len(nodes), len(nodes)))
    total = sum(h.share for h in hypotheses)
    for h in hypotheses:
        for a, b in h.edges:
            if a in index and b in index:
                grid[index[a], index[b]] += h.share
    if total > 0:
        grid /= total
    return [[round(float(v), _DIGITS) for v in row] for row in grid]


def closed_intervals(
    t: Sequence[float], gain: Sequence[float], threshold: float
) -> list[tuple[float, float]]:
    """Runs of samples whose gain is under ``threshold``, as ``(start, end)`` sample times."""
    runs: list[tuple[float, float]] = []
    start: float | None = None
    for when, g in zip(t, gain, strict=True):
        if g < threshold and start is None:
            start = when
        elif g >= threshold and start is not None:
            runs.append((start, when))
            start = None
    if start is not None:
        runs.append((start, t[-1]))
    return runs


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), _DIGITS) for v in values]


class FrameBuilder:
    """Builds successive frames of one runtime; keeps the previous counts for the rates.

    Not thread-safe by itself: ``ConsoleHub`` calls it under its own lock.
    """

    def __init__(
        self,
        runtime: TriuneRuntime,
        *,
        clock: Clock,
        remediation: RemediationSource | None = None,
        window_s: float = 1.0,
        points: int = 160,
        rate_hz: float = 4.0,
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self._remediation = remediation
        self._window_s = window_s
        self._points = points
        self._rate_hz = rate_hz
        self._seq = 0
        self._previous: tuple[float, dict[str, int]] | None = None

    def build(self) -> ConsoleFrame:
        """The next frame (``seq`` counts up from 1)."""
        runtime = self._runtime
        now = self._clock.monotonic()
        tiers, latencies, _ = runtime.snapshot()
        self._seq += 1
        previous, self._previous = self._previous, (now, tiers)
        return ConsoleFrame(
            seq=self._seq,
            at=self._clock.now(),
            rate_hz=self._rate_hz,
            oscillator=self._oscillator(),
            traffic=_traffic(tiers, now, previous),
            latency=_latency(latencies),
            regulator=self._regulator(),
            reflexes=self._reflexes(tiers, previous),
            cognition=self._cognition(tiers),
            remediation=self._remediation_view(),
        )

    def _oscillator(self) -> OscillatorView:
        attention = self._runtime.attention
        alpha = attention.diagnostics()
        relative = np.linspace(-self._window_s, 0.0, self._points)
        times = relative + alpha.time_s
        gain = attention.gain_at(times)
        phase = attention.phase_at(times)
        threshold = self._runtime.regulator.config.suppress_below
        t = _rounded(relative)
        g = _rounded(gain)
        reset = alpha.last_reset_s
        return OscillatorView(
            frequency_hz=alpha.frequency_hz,
            phase_rad=alpha.phase_rad,
            effective_power=alpha.effective_power,
            gain_now=alpha.gain_now,
            open_fraction=alpha.open_fraction,
            threshold=threshold,
            window_s=self._window_s,
            t=t,
            gain=g,
            phase=_rounded(phase),
            closed=closed_intervals(t, g, threshold),
            last_reset_ago_s=None if reset is None else alpha.time_s - reset,
        )

    def _regulator(self) -> RegulatorView:
        regulator = self._runtime.regulator
        status = regulator.status()
        recent = regulator.transitions()[-SHOWN_TRANSITIONS:]
        return RegulatorView(
            state=str(status.state),
            forced_reason=status.forced_reason,
            dependencies_down=list(status.dependencies_down),
            latency_breaches=status.latency_breaches,
            transitions=[
                TransitionPoint(
                    from_state=str(t.from_state),
                    to_state=str(t.to_state),
                    reason=t.reason,
                    ago_s=max(status.time_s - t.time_s, 0.0),
                )
                for t in recent
            ],
        )

    def _reflexes(
        self, tiers: dict[str, int], previous: tuple[float, dict[str, int]] | None
    ) -> ReflexView:
        teacher = self._runtime.teacher.status()
        delta = _delta(tiers, previous[1] if previous else {})
        reached = delta["instinct"] + delta["none"]
        labelled = delta["labelled_hits"]
        wrong = labelled - delta["correct_hits"]
        return ReflexView(
            size=len(self._runtime.reflexes),
            learned=teacher.learned,
            pending_lessons=teacher.pending,
            hit_rate=delta["instinct"] / reached if previous and reached else None,
            miss_rate=delta["none"] / reached if previous and reached else None,
            wrong_rate=wrong / labelled if previous and labelled else None,
        )

    def _cognition(self, tiers: dict[str, int]) -> CognitionView:
        runtime = self._runtime
        worker = runtime.cognition
        batches = list(runtime.hypotheses)
        latest: HypothesisBatch | None = batches[-1] if batches else None
        hypotheses = (
            [
                DagView(
                    description=h.description,
                    share=h.share,
                    log_reward=h.log_reward if math.isfinite(h.log_reward) else 0.0,
                    edges=parse_edges(h.description),
                )
                for h in latest.hypotheses[:SHOWN_HYPOTHESES]
            ]
            if latest
            else []
        )
        # The batches name no variables; every endpoint cognition has reported spans them (an
        # independent variable in every kept batch is the only one missed).
        nodes = sorted(
            {name for b in batches for h in b.hypotheses for e in parse_edges(h.description)
             for name in e}
        )  # fmt: skip
        return CognitionView(
            enabled=worker is not None,
            batches=tiers.get("cognition", 0),
            failures=worker.failures if worker else 0,
            last_error=worker.last_error if worker else None,
            nodes=nodes,
            hypotheses=hypotheses,
            marginals=edge_marginals(nodes, hypotheses),
            diversity=latest.diversity if latest else None,
            mode_collapse=latest.mode_collapse if latest else None,
            latency_s=latest.latency_s if latest else None,
        )

    def _remediation_view(self) -> RemediationView:
        if self._remediation is None:
            return RemediationView(records=[], active=None)
        records, active = self._remediation()
        return RemediationView(records=records[::-1][:SHOWN_REMEDIATIONS], active=active)


def _delta(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    keys = (*ANSWER_TIERS, "labelled_hits", "correct_hits")
    return {k: now.get(k, 0) - before.get(k, 0) for k in keys}


def _traffic(
    tiers: dict[str, int], now: float, previous: tuple[float, dict[str, int]] | None
) -> TrafficView:
    answered = sum(tiers.get(k, 0) for k in ANSWER_TIERS)
    if previous is None:
        return TrafficView(answered=answered, tiers=tiers, interval_s=None, per_s=None, shares={})
    interval = now - previous[0]
    delta = _delta(tiers, previous[1])
    n = sum(delta[k] for k in ANSWER_TIERS)
    return TrafficView(
        answered=answered,
        tiers=tiers,
        interval_s=interval,
        per_s=n / interval if interval > 0 else None,
        shares={k: delta[k] / n for k in ANSWER_TIERS} if n else {},
    )


def _latency(latencies: list[float]) -> LatencyView:
    if not latencies:
        return LatencyView(count=0, p50_ms=None, p90_ms=None, p99_ms=None, max_ms=None)
    values = np.asarray(latencies) * 1e3
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    return LatencyView(
        count=len(latencies), p50_ms=p50, p90_ms=p90, p99_ms=p99, max_ms=float(values.max())
    )
