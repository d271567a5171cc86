"""A/B tests: stable assignment, per-variant metrics, and a test that names a winner or "not yet".

Assignment hashes ``experiment name + key`` (``assign_variant``), so a key lands in the same arm
in every process and after a restart. The significance test is Welch's two-sample t-test
(``scipy.stats.ttest_ind(equal_var=False)``) on the per-call values of one metric: it does not
assume the arms share a variance (a new sampler rarely has the old one's spread) and, on 0/1
outcomes such as errors, agrees with the two-proportion z-test at the sample sizes we require.
No winner is named before each arm has ``min_samples`` observations (default 30), so an early
lucky streak cannot end a test; one look at a fixed alpha is the intended use (repeated peeking
inflates false positives; lower ``alpha`` if a test is checked often).
With a ``RolloutStore`` every observation is saved as it is recorded, so a restarted process
(or a second one) continues the same test with the evidence gathered so far.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import defaultdict
from collections.abc import Mapping

from emily.core import Clock, InputError, SovereignModel, system_clock
from emily.ops.registry import Decision, DecisionRecorder
from emily.ops.rollout._hashing import assign_variant
from emily.ops.rollout._model import Answer, HypothesisModel, call_measured
from emily.ops.rollout._state import RolloutStore

KIND = "ab"

NOT_YET = "not yet"


class ABVerdict(SovereignModel):
    """The outcome of comparing two arms on one metric."""

    experiment: str
    metric: str
    control: str
    treatment: str
    n_control: int
    n_treatment: int
    mean_control: float | None
    mean_treatment: float | None
    p_value: float | None
    winner: str | None
    summary: str


class ABTest:
    """Route keys to variants stably and decide, with evidence, which variant is better.

    Args:
        name: The experiment's name (also the hashing salt: rename = reshuffle).
        weights: Variant name to traffic weight, control first.
        alpha: Significance level of the two-sided Welch test.
        min_samples: Observations each arm needs before a winner may be named.
        store: Where observations are saved and, on start, read back from.
    """

    def __init__(
        self,
        name: str,
        weights: Mapping[str, float] | None = None,
        *,
        alpha: float = 0.05,
        min_samples: int = 30,
        store: RolloutStore | None = None,
    ) -> None:
        self.name = name
        self.weights = dict(weights or {"A": 0.5, "B": 0.5})
        if len(self.weights) < 2:
            raise InputError(f"an A/B test needs at least two variants, got {list(self.weights)}")
        if not 0.0 < alpha < 1.0 or min_samples < 2:
            raise InputError("alpha must be in (0, 1) and min_samples >= 2")
        self.alpha = alpha
        self.min_samples = min_samples
        self._values: dict[tuple[str, str], list[float]] = defaultdict(list)
        self._store = store
        if store is not None:
            self._resume(store)

    @property
    def rollout_id(self) -> str:
        """The id of this test in a ``RolloutStore``."""
        return f"{KIND}:{self.name}"

    def _resume(self, store: RolloutStore) -> None:
        settings = {"weights": self.weights, "alpha": self.alpha, "min_samples": self.min_samples}
        saved = store.load_state(self.rollout_id, KIND)
        if saved is None:
            store.save_state(self.rollout_id, KIND, {"settings": settings})
            return
        if saved["settings"] != settings:
            raise InputError(
                f"A/B test {self.name!r} already runs with {saved['settings']}, not {settings}: "
                "changing the weights would reassign keys mid-test; start a test with a new name"
            )
        for variant, metrics in store.observations(self.rollout_id):
            for metric, value in metrics.items():
                self._values[(variant, metric)].append(value)

    def assign(self, key: str) -> str:
        """The variant for ``key`` (same answer in every process, forever)."""
        return assign_variant(key, salt=f"ab:{self.name}", weights=self.weights)

    def record(self, variant: str, metrics: Mapping[str, float]) -> None:
        """Add one observation per metric for ``variant``."""
        if variant not in self.weights:
            raise InputError(f"unknown variant {variant!r}; this test has {list(self.weights)}")
        values = {metric: float(value) for metric, value in metrics.items()}
        if self._store is not None:
            self._store.append(self.rollout_id, variant, values)
        for metric, value in values.items():
            self._values[(variant, metric)].append(value)

    def observations(self, variant: str, metric: str) -> list[float]:
        """Every recorded value of ``metric`` for ``variant``."""
        return list(self._values.get((variant, metric), []))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per-variant metrics: ``{variant: {"METRIC.mean": ..., "METRIC.n": ...}}``."""
        out: dict[str, dict[str, float]] = {v: {} for v in self.weights}
        for (variant, metric), values in sorted(self._values.items()):
            out[variant][f"{metric}.mean"] = statistics.fmean(values)
            out[variant][f"{metric}.n"] = float(len(values))
        return out

    def serve(
        self, key: str, models: Mapping[str, HypothesisModel], num_samples: int, *, clock: Clock
    ) -> tuple[str, Answer]:
        """Answer with ``key``'s variant and record its latency, diversity and error."""
        variant = self.assign(key)
        answer = call_measured(models[variant], num_samples, clock)
        self.record(
            variant,
            {
                "latency_ms": answer.latency_ms,
                "diversity": answer.diversity,
                "error": float(answer.error is not None),
            },
        )
        return variant, answer

    def analyse(
        self,
        metric: str,
        *,
        higher_is_better: bool = True,
        control: str | None = None,
        treatment: str | None = None,
    ) -> ABVerdict:
        """Compare ``treatment`` with ``control`` on ``metric``; name a winner or say "not yet"."""
        names = list(self.weights)
        control = control or names[0]
        treatment = treatment or names[1]
        a, b = self.observations(control, metric), self.observations(treatment, metric)
        mean_a = statistics.fmean(a) if a else None
        mean_b = statistics.fmean(b) if b else None

        def verdict(p: float | None, winner: str | None, summary: str) -> ABVerdict:
            return ABVerdict(
                experiment=self.name,
                metric=metric,
                control=control,
                treatment=treatment,
                n_control=len(a),
                n_treatment=len(b),
                mean_control=mean_a,
                mean_treatment=mean_b,
                p_value=p,
                winner=winner,
                summary=summary,
            )

        if len(a) < self.min_samples or len(b) < self.min_samples:
            need = f"{self.min_samples} per variant, have {len(a)} and {len(b)}"
            return verdict(None, None, f"{NOT_YET}: too few samples ({need})")
        p = welch_p_value(a, b)
        assert mean_a is not None
        assert mean_b is not None
        if p >= self.alpha or mean_a == mean_b:
            return verdict(p, None, f"{NOT_YET}: no significant difference (p={p:.3g})")
        b_better = (mean_b > mean_a) == higher_is_better
        winner = treatment if b_better else control
        return verdict(p, winner, f"{winner} wins on {metric} (p={p:.3g} < {self.alpha})")

    def record_verdict(
        self,
        verdict: ABVerdict,
        recorder: DecisionRecorder,
        *,
        model: str,
        who: str = "ab-test",
        clock: Clock | None = None,
    ) -> Decision:
        """Append the verdict (winner or "not yet") to the decision ledger."""
        decision = Decision(
            who=who,
            what="ab-verdict",
            why=verdict.summary,
            when=(clock or system_clock()).now(),
            model=model,
            version=verdict.winner,
            details={
                "experiment": verdict.experiment,
                "metric": verdict.metric,
                "p_value": "" if verdict.p_value is None else repr(verdict.p_value),
                "n": f"{verdict.n_control}/{verdict.n_treatment}",
            },
        )
        recorder.record(decision)
        return decision


def welch_p_value(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of Welch's t-test; two constant samples are decided exactly."""
    if statistics.pvariance(a) == 0.0 and statistics.pvariance(b) == 0.0:
        return 1.0 if statistics.fmean(a) == statistics.fmean(b) else 0.0
    from scipy import stats

    with warnings.catch_warnings():  # precision-loss warnings on near-constant data
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return 1.0 if math.isnan(p) else p
