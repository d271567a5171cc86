"""A/B tests: per-variant metrics, Welch's test, "not yet" until the evidence is there."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from emily.core import InputError, ManualClock
from emily.ops.registry import DecisionLedger
from emily.ops.rollout import NOT_YET, ABTest, welch_p_value


class Constant:
    """A fake model: ``width`` distinct hypotheses, repeated to fill the sample."""

    def __init__(self, width: int) -> None:
        self.width = width

    def generate(self, num_samples: int) -> list[int]:
        return [i % self.width for i in range(num_samples)]


def test_not_yet_before_the_minimum_sample() -> None:
    test = ABTest("t", min_samples=30)
    for _ in range(29):
        test.record("A", {"reward": 0.0})
        test.record("B", {"reward": 1.0})
    verdict = test.analyse("reward")
    assert verdict.winner is None
    assert verdict.summary.startswith(NOT_YET)
    assert verdict.p_value is None


def test_names_the_better_variant_when_significant() -> None:
    rng = random.Random(0)
    test = ABTest("t", min_samples=30)
    for _ in range(200):
        test.record("A", {"reward": rng.gauss(0.0, 1.0), "latency_ms": rng.gauss(10, 1)})
        test.record("B", {"reward": rng.gauss(0.6, 1.5), "latency_ms": rng.gauss(10, 1)})
    verdict = test.analyse("reward")
    assert verdict.winner == "B"
    assert verdict.p_value is not None
    assert verdict.p_value < 0.05
    assert "B wins" in verdict.summary
    assert test.analyse("reward", higher_is_better=False).winner == "A"
    same = test.analyse("latency_ms")
    assert same.winner is None
    assert same.summary.startswith(NOT_YET)


def test_constant_samples_are_decided_exactly() -> None:
    assert welch_p_value([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert welch_p_value([1.0, 1.0], [2.0, 2.0]) == 0.0
    assert 0.0 < welch_p_value([1.0, 2.0, 3.0], [2.0, 3.0, 4.5]) < 1.0


def test_serve_routes_stably_and_records_metrics() -> None:
    test = ABTest("serve", min_samples=2)
    models = {"A": Constant(1), "B": Constant(8)}
    clock = ManualClock()
    for i in range(60):
        variant, answer = test.serve(f"user-{i % 20}", models, 8, clock=clock)
        assert variant == test.assign(f"user-{i % 20}")
        assert answer.error is None
    assert test.observations("A", "diversity")
    assert set(test.observations("B", "diversity")) == {1.0}
    assert test.analyse("diversity").winner == "B"
    summary = test.summary()
    assert summary["B"]["diversity.mean"] == 1.0
    assert summary["A"]["error.n"] + summary["B"]["error.n"] == 60


def test_verdict_goes_to_the_ledger(tmp_path: Path) -> None:
    ledger = DecisionLedger(tmp_path / "d.db")
    test = ABTest("ledger", min_samples=2)
    decision = test.record_verdict(test.analyse("reward"), ledger, model="m", clock=ManualClock())
    assert ledger.history("m") == [decision]
    assert decision.what == "ab-verdict"
    assert decision.why.startswith(NOT_YET)


def test_bad_configuration_is_rejected() -> None:
    with pytest.raises(InputError, match="two variants"):
        ABTest("t", {"A": 1.0})
    with pytest.raises(InputError, match="alpha"):
        ABTest("t", alpha=1.5)
    with pytest.raises(InputError, match="unknown variant"):
        ABTest("t").record("C", {"x": 1.0})
