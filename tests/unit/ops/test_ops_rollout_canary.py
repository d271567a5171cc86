"""Canary: stable routing, automatic promotion or rollback on SLOs, all recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import ManualClock
from emily.ops.registry import Decision, DecisionLedger
from emily.ops.rollout import SLO, CanaryRollout, CanaryState, ComparisonSink


class Fake:
    """A fake model whose latency, diversity and failures are set by the test."""

    def __init__(self, clock: ManualClock, *, latency_ms: float = 1.0, width: int = 100,
                 fail_every: int = 0) -> None:  # fmt: skip
        self.clock, self.latency_ms, self.width, self.fail_every = (
            clock,
            latency_ms,
            width,
            fail_every,
        )
        self.calls = 0

    def generate(self, num_samples: int) -> list[int]:
        self.calls += 1
        self.clock.advance(self.latency_ms / 1000.0)
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError("challenger crashed")
        return [i % self.width for i in range(num_samples)]


class FakeRegistry:
    """Records alias moves in a real ledger, like ``ModelRegistry`` does."""

    def __init__(self, ledger: DecisionLedger, clock: ManualClock) -> None:
        self.ledger, self.clock = ledger, clock

    def promote(self, name: str, version: str, *, alias: str = "champion", who: str = "x",
                why: str) -> Decision:  # fmt: skip
        d = Decision(who=who, what="promote", why=why, when=self.clock.now(), model=name,
                     version=version, alias=alias)  # fmt: skip
        self.ledger.record(d)
        return d

    def clear_alias(self, name: str, alias: str, *, who: str = "x", why: str) -> Decision:
        d = Decision(who=who, what="clear-alias", why=why, when=self.clock.now(), model=name,
                     alias=alias)  # fmt: skip
        self.ledger.record(d)
        return d


def _canary(
    tmp_path: Path, challenger_kw: dict[str, float], sink: ComparisonSink | None = None
) -> tuple[CanaryRollout, Fake, Fake]:
    clock = ManualClock()
    champion, challenger = Fake(clock), Fake(clock, **challenger_kw)  # type: ignore[arg-type]
    canary = CanaryRollout(
        model_name="m", champion=champion, challenger=challenger, challenger_version="2",
        registry=FakeRegistry(DecisionLedger(tmp_path / "d.db"), clock), percent=30.0,
        slo=SLO(max_p95_latency_ms=20.0, min_diversity=0.5, max_error_rate=0.05),
        min_requests=40, clock=clock, sink=sink,
    )  # fmt: skip
    return canary, champion, challenger


def _drive(canary: CanaryRollout, requests: int = 600) -> None:
    for i in range(requests):
        assert len(canary.generate(f"user-{i}", 10)) == 10


def test_healthy_challenger_is_promoted(tmp_path: Path) -> None:
    logged: list[tuple[int, dict[str, float]]] = []
    canary, _, challenger = _canary(tmp_path, {}, lambda step, m: logged.append((step, m)))
    assert canary.report().requests == 0
    _drive(canary)
    assert canary.state is CanaryState.PROMOTED
    assert canary.decision is not None
    assert canary.decision.what == "promote"
    assert canary.decision.version == "2"
    assert "met every SLO" in canary.decision.why
    assert [step for step, _ in logged] == list(range(1, len(logged) + 1))
    assert set(logged[0][1]) == {"canary.latency_ms", "canary.diversity", "canary.error"}
    before = challenger.calls
    canary.generate("anyone", 3)
    assert challenger.calls == before + 1  # after promotion the challenger serves everyone


@pytest.mark.parametrize(
    ("challenger_kw", "broken"),
    [
        ({"latency_ms": 80.0}, "p95 latency"),
        ({"width": 1}, "diversity"),
        ({"fail_every": 4}, "error"),
    ],
)
def test_challenger_breaking_an_slo_is_rolled_back(
    tmp_path: Path, challenger_kw: dict[str, float], broken: str
) -> None:
    canary, champion, challenger = _canary(tmp_path, challenger_kw)
    _drive(canary)
    assert canary.state is CanaryState.ROLLED_BACK
    assert canary.decision is not None
    assert canary.decision.what == "clear-alias"
    assert broken in canary.decision.why
    calls = challenger.calls
    _drive(canary, 50)
    assert challenger.calls == calls  # rolled back: the challenger gets no more traffic
    assert champion.calls > 0


def test_routing_is_stable_and_near_the_percentage(tmp_path: Path) -> None:
    canary, _, _ = _canary(tmp_path, {})
    keys = [f"k{i}" for i in range(1000)]
    first = [canary.routes_to_challenger(k) for k in keys]
    assert first == [canary.routes_to_challenger(k) for k in keys]
    assert 0.25 < sum(first) / len(keys) < 0.35


def test_evaluate_is_idempotent_once_decided(tmp_path: Path) -> None:
    canary, _, _ = _canary(tmp_path, {"fail_every": 1})
    _drive(canary, 100)
    decision = canary.decision
    assert canary.evaluate() is CanaryState.ROLLED_BACK
    assert canary.decision is decision
    report = canary.report()
    assert report.error_rate == 1.0
    assert report.p95_latency_ms is None
