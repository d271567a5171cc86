"""Shadow mode: both models answer, only production's answer is used, the two are compared.

Why: a new model meets real traffic without any user seeing its answers. Each call logs the
comparison (latency, diversity, overlap of the two hypothesis sets, whether the shadow failed)
through a metrics callback; ``MlflowTracker.callback`` is one, so the comparisons land in MLflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emily.core import Clock, system_clock
from emily.ops.rollout._model import HypothesisModel, call_measured, diversity, overlap

ComparisonSink = Callable[[int, dict[str, float]], None]


class ShadowDeployment:
    """Serve ``production``; run ``shadow`` on the same request and log the comparison.

    Args:
        production: The model whose answers are returned.
        shadow: The candidate; its errors are counted, never raised.
        sink: Receives ``(call_index, metrics)`` per call (e.g. ``MlflowTracker.callback``).
        clock: Measures both latencies.
    """

    def __init__(
        self,
        production: HypothesisModel,
        shadow: HypothesisModel,
        sink: ComparisonSink,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.production = production
        self.shadow = shadow
        self._sink = sink
        self._clock = clock or system_clock()
        self.calls = 0
        self.shadow_errors = 0

    def generate(self, num_samples: int) -> list[Any]:
        """Production's hypotheses; production's own errors propagate as they would unshadowed."""
        start = self._clock.monotonic()
        served = list(self.production.generate(num_samples))
        prod_ms = (self._clock.monotonic() - start) * 1000.0
        shadow = call_measured(self.shadow, num_samples, self._clock)
        self.calls += 1
        self.shadow_errors += shadow.error is not None
        prod_diversity = diversity(served)
        metrics = {
            "shadow.production_latency_ms": prod_ms,
            "shadow.candidate_latency_ms": shadow.latency_ms,
            "shadow.production_diversity": prod_diversity,
            "shadow.candidate_diversity": shadow.diversity,
            "shadow.candidate_error": float(shadow.error is not None),
            "shadow.overlap": overlap(served, shadow.hypotheses) if shadow.error is None else 0.0,
        }
        self._sink(self.calls, metrics)
        return served
