"""What the rollout machinery needs of a model, and the measures it takes of each answer.

Why a protocol: shadow, A/B, canary and blue-green work the same for the cognition tier's
GFlowNet and for the five-line fakes in the tests; all they call is ``generate(num_samples)``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol, runtime_checkable

from emily.core import Clock, SovereignModel


@runtime_checkable
class HypothesisModel(Protocol):
    """Anything that samples hypotheses (a GFlowNet, a baseline, a test fake)."""

    def generate(self, num_samples: int) -> Sequence[Any]:
        """Return ``num_samples`` hypotheses."""
        ...


class Answer(SovereignModel):
    """One model call, measured: its hypotheses (or the error), latency and diversity."""

    hypotheses: list[Any]
    latency_ms: float
    diversity: float
    error: str | None = None


def _hashable(item: Any) -> Hashable:
    return item if isinstance(item, Hashable) else repr(item)


def diversity(hypotheses: Sequence[Any]) -> float:
    """Fraction of distinct hypotheses in a sample (1.0: all different; 1/n: mode collapse)."""
    if not hypotheses:
        return 0.0
    return len({_hashable(h) for h in hypotheses}) / len(hypotheses)


def overlap(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Jaccard overlap of two samples' distinct hypotheses (1.0: same set)."""
    sa, sb = {_hashable(h) for h in a}, {_hashable(h) for h in b}
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def call_measured(model: HypothesisModel, num_samples: int, clock: Clock) -> Answer:
    """Call ``model.generate`` and measure it; an exception becomes ``Answer.error``.

    Why catch everything here: a challenger's crash is a measurement (error rate), not a reason
    to fail the request; callers decide whether the production answer is still needed.
    """
    start = clock.monotonic()
    try:
        hypotheses = list(model.generate(num_samples))
    except Exception as exc:
        elapsed = (clock.monotonic() - start) * 1000.0
        return Answer(
            hypotheses=[], latency_ms=elapsed, diversity=0.0, error=f"{type(exc).__name__}: {exc}"
        )
    elapsed = (clock.monotonic() - start) * 1000.0
    return Answer(hypotheses=hypotheses, latency_ms=elapsed, diversity=diversity(hypotheses))


class _DescribedSampler(Protocol):
    def generate(self, num_samples: int) -> Any:
        """Return a batch object with a ``descriptions`` list (e.g. the GFlowNet's ``Samples``)."""
        ...


class DescribedSamples:
    """Adapt a sampler whose ``generate`` returns a batch with ``.descriptions`` to the protocol.

    The cognition tier's ``GFlowNet.generate(n)`` returns ``Samples`` (tensors plus readable
    ``descriptions``); rollout compares hypotheses, so this wrapper hands it the descriptions:
    ``CanaryRollout(champion=DescribedSamples(net_v1), challenger=DescribedSamples(net_v2), ...)``.
    """

    def __init__(self, sampler: _DescribedSampler) -> None:
        self.sampler = sampler

    def generate(self, num_samples: int) -> list[Any]:
        """The descriptions of ``num_samples`` sampled hypotheses."""
        return list(self.sampler.generate(num_samples).descriptions)
