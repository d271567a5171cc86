"""Shadow mode and blue-green switching with fake models."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import InputError, ManualClock
from emily.ops.registry import DecisionLedger
from emily.ops.rollout import (
    BlueGreenDeployment,
    DescribedSamples,
    HypothesisModel,
    ShadowDeployment,
    default_smoke_test,
    diversity,
    overlap,
)


class Fake:
    def __init__(self, values: list[object] | None = None, *, fail: bool = False) -> None:
        self.values, self.fail = values, fail

    def generate(self, num_samples: int) -> list[object]:
        if self.fail:
            raise RuntimeError("boom")
        return list(self.values or range(num_samples))[:num_samples]


def test_fakes_satisfy_the_protocol() -> None:
    assert isinstance(Fake(), HypothesisModel)


def test_measures() -> None:
    assert diversity([]) == 0.0
    assert diversity([1, 1, 2, 2]) == 0.5
    assert diversity([[1], [1]]) == 0.5  # unhashable hypotheses compare by repr
    assert overlap([1, 2], [2, 3]) == pytest.approx(1 / 3)
    assert overlap([], []) == 1.0


def test_shadow_serves_production_and_logs_the_comparison() -> None:
    logged: list[tuple[int, dict[str, float]]] = []
    shadow = ShadowDeployment(
        Fake(), Fake(["a", "a", 2]), lambda s, m: logged.append((s, m)), clock=ManualClock()
    )
    assert shadow.generate(3) == [0, 1, 2]
    step, metrics = logged[0]
    assert step == 1
    assert metrics["shadow.overlap"] == pytest.approx(1 / 4)
    assert metrics["shadow.candidate_diversity"] == pytest.approx(2 / 3)
    assert metrics["shadow.candidate_error"] == 0.0


def test_a_failing_shadow_never_reaches_the_caller() -> None:
    logged: list[dict[str, float]] = []
    shadow = ShadowDeployment(Fake(), Fake(fail=True), lambda _s, m: logged.append(m))
    assert shadow.generate(2) == [0, 1]
    assert shadow.shadow_errors == 1
    assert logged[0]["shadow.candidate_error"] == 1.0


def test_blue_green_switch_rollback_and_window(tmp_path: Path) -> None:
    clock = ManualClock()
    ledger = DecisionLedger(tmp_path / "d.db")
    blue, green = Fake(["blue"] * 8), Fake(["green"] * 8)
    deployment = BlueGreenDeployment(
        "m", blue, "1", recorder=ledger, rollback_window_s=60, clock=clock
    )
    assert not deployment.can_roll_back
    deployment.deploy(green, "2")
    assert deployment.generate(1) == ["green"]
    assert deployment.can_roll_back
    back = deployment.rollback("users complained")
    assert (back.what, back.version, back.previous_version) == ("blue-green-rollback", "1", "2")
    assert deployment.generate(1) == ["blue"]
    deployment.deploy(green, "2")
    clock.advance(61)
    assert not deployment.can_roll_back
    with pytest.raises(InputError, match="window has closed"):
        deployment.rollback("too late")
    whats = [d.what for d in ledger.history("m")]
    assert whats == ["blue-green-switch", "blue-green-rollback", "blue-green-switch"]


@pytest.mark.parametrize("candidate", [Fake(fail=True), Fake(["only-one"])])
def test_smoke_test_gate_keeps_the_live_model(tmp_path: Path, candidate: Fake) -> None:
    ledger = DecisionLedger(tmp_path / "d.db")
    deployment = BlueGreenDeployment("m", Fake(), "1", recorder=ledger, clock=ManualClock())
    decision = deployment.deploy(candidate, "2")
    assert decision.what == "blue-green-rejected"
    assert "smoke test failed" in decision.why
    assert deployment.live_version == "1"
    assert default_smoke_test(Fake()) is None


def test_described_samples_adapts_a_gflownet_like_sampler() -> None:
    class Batch:
        def __init__(self, n: int) -> None:
            self.descriptions = [f"h{i % 2}" for i in range(n)]

    class Sampler:
        def generate(self, num_samples: int) -> Batch:
            return Batch(num_samples)

    adapted = DescribedSamples(Sampler())
    assert isinstance(adapted, HypothesisModel)
    assert adapted.generate(4) == ["h0", "h1", "h0", "h1"]
    assert default_smoke_test(adapted) is None
