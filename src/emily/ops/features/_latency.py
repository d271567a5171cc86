"""Per-call latency of the runtime's online lookups, measured on the injected clock.

Feast's own ``get_online_features`` is known to cost milliseconds per call; the runtime reads
the online store directly (``OnlineFeatures``). ``measure_lookups`` times that path, one episode
per call as the runtime asks, so it can be set beside ``FeastRunner.bench`` (Feast timed in its
own process). ``emily features status --latency`` prints both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emily.core import Clock, InputError, SovereignModel, system_clock
from emily.ops.features._online import OnlineFeatures


class LatencyReport(SovereignModel):
    """Percentiles of one lookup path, in microseconds."""

    path: str
    calls: int
    p50_us: float
    p99_us: float
    mean_us: float


def measure_lookups(
    features: OnlineFeatures,
    episode_ids: Sequence[str],
    calls: int = 1000,
    *,
    clock: Clock | None = None,
) -> LatencyReport:
    """Time ``calls`` single-episode lookups (cycling through ``episode_ids``) after a warm-up."""
    if calls < 1 or not episode_ids:
        raise InputError(f"need calls >= 1 and at least one episode id, got {calls}, {episode_ids}")
    clock = clock or system_clock()
    features.get(list(episode_ids[:1]))  # warm-up: first query plans, first connection
    samples = np.empty(calls)
    for call in range(calls):
        started = clock.monotonic()
        features.get([episode_ids[call % len(episode_ids)]])
        samples[call] = clock.monotonic() - started
    p50, p99 = np.percentile(samples, [50, 99]) * 1e6
    return LatencyReport(
        path=f"direct-{features.config.online}",
        calls=calls,
        p50_us=float(p50),
        p99_us=float(p99),
        mean_us=float(samples.mean() * 1e6),
    )
