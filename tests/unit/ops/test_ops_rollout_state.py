"""Rollout state survives a restart: canary evidence, A/B observations, blue-green slots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from emily.core import InputError, ManualClock
from emily.ops.registry import Decision, DecisionLedger
from emily.ops.rollout import (
    SLO,
    ABTest,
    BlueGreenDeployment,
    CanaryRollout,
    CanaryState,
    RolloutStore,
)


class Fake:
    def __init__(self, label: str, clock: ManualClock, *, latency_ms: float = 1.0) -> None:
        self.label, self.clock, self.latency_ms = label, clock, latency_ms

    def generate(self, num_samples: int) -> list[str]:
        self.clock.advance(self.latency_ms / 1000.0)
        return [f"{self.label}{i}" for i in range(num_samples)]


class FakeRegistry:
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


def _canary(tmp_path: Path, clock: ManualClock, *, percent: float = 50.0) -> CanaryRollout:
    """A fresh canary object over the same store file: what a restarted process builds."""
    return CanaryRollout(
        model_name="m", champion=Fake("old", clock), challenger=Fake("new", clock),
        challenger_version="2", registry=FakeRegistry(DecisionLedger(tmp_path / "d.db"), clock),
        percent=percent, slo=SLO(max_p95_latency_ms=20.0, min_diversity=0.5),
        min_requests=20, clock=clock, store=RolloutStore(tmp_path / "rollout.db", clock=clock),
    )  # fmt: skip


def test_a_restarted_canary_keeps_its_evidence_and_verdict(tmp_path: Path) -> None:
    clock = ManualClock()
    first = _canary(tmp_path, clock)
    keys = iter(range(10_000))
    while first.report().requests < 15:  # not yet enough to decide
        first.generate(f"k{next(keys)}", 4)
    assert first.state is CanaryState.RUNNING

    second = _canary(tmp_path, clock)  # "restart": a new object, the same file
    assert second.report().requests == 15
    while second.state is CanaryState.RUNNING:
        second.generate(f"k{next(keys)}", 4)
    assert second.report().requests == 20  # decided on 15 old + 5 new calls, not 20 new ones
    assert second.state is CanaryState.PROMOTED
    assert second.decision is not None
    assert "after 20 canary requests" in second.decision.why

    third = _canary(tmp_path, clock)
    assert third.state is CanaryState.PROMOTED
    assert third.decision == second.decision
    assert third.generate("anyone", 2) == ["new0", "new1"]  # promoted: the challenger serves
    assert [d.what for d in DecisionLedger(tmp_path / "d.db").history("m")] == ["promote"]


def test_a_canary_cannot_resume_with_other_settings(tmp_path: Path) -> None:
    clock = ManualClock()
    canary = _canary(tmp_path, clock)
    for i in range(20):
        canary.generate(f"k{i}", 4)
    before = RolloutStore(tmp_path / "rollout.db").observations(canary.rollout_id)
    with pytest.raises(InputError, match=r"already under way with settings .*percent"):
        _canary(tmp_path, clock, percent=90.0)
    assert RolloutStore(tmp_path / "rollout.db").observations(canary.rollout_id) == before


def test_an_ab_test_continues_with_the_saved_observations(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path / "rollout.db")
    clock = ManualClock()
    models = {"A": Fake("a", clock), "B": Fake("b", clock, latency_ms=5.0)}
    first = ABTest("exp", min_samples=10, store=store)
    for i in range(30):
        first.serve(f"user-{i}", models, 4, clock=clock)
    resumed = ABTest("exp", min_samples=10, store=RolloutStore(tmp_path / "rollout.db"))
    assert resumed.summary() == first.summary()
    for i in range(30, 60):
        resumed.serve(f"user-{i}", models, 4, clock=clock)
    verdict = resumed.analyse("latency_ms", higher_is_better=False)
    assert verdict.n_control + verdict.n_treatment == 60
    assert verdict.winner == "A"
    with pytest.raises(InputError, match="would reassign keys"):
        ABTest("exp", {"A": 0.9, "B": 0.1}, store=store)


def test_blue_green_serves_the_saved_live_version_after_a_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    ledger = DecisionLedger(tmp_path / "d.db")
    models = {v: Fake(f"v{v}-", clock) for v in ("1", "2")}

    def deployment(*, loader: bool = True) -> BlueGreenDeployment:
        return BlueGreenDeployment(
            "m", models["1"], "1", recorder=ledger, rollback_window_s=60, clock=clock,
            store=RolloutStore(tmp_path / "rollout.db"),
            loader=models.__getitem__ if loader else None,
        )  # fmt: skip

    deployment().deploy(models["2"], "2")
    with pytest.raises(InputError, match="needs version 2, but no loader"):
        deployment(loader=False)
    restarted = deployment()
    assert (restarted.live_version, restarted.standby_version) == ("2", "1")
    assert restarted.generate(1) == ["v2-0"]
    assert restarted.can_roll_back
    restarted.rollback("bad answers after the restart")
    assert deployment().generate(1) == ["v1-0"]

    deployment().deploy(models["2"], "2")
    clock.advance(61)  # the window closes on wall time, across restarts too
    assert not deployment().can_roll_back
    whats = [d.what for d in ledger.history("m")]
    assert whats == ["blue-green-switch", "blue-green-rollback", "blue-green-switch"]


def test_a_rollout_id_of_another_kind_is_refused(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path / "rollout.db")
    store.save_state("x", "canary", {"state": "running"})
    with pytest.raises(InputError, match="is a canary rollout, not a ab one"):
        store.load_state("x", "ab")


def test_models_rollouts_lists_saved_state() -> None:
    from emily.cli.ops_commands import register_ops_commands

    ABTest("exp", store=RolloutStore.default()).record("A", {"latency_ms": 1.0})
    app = typer.Typer()
    register_ops_commands(app)
    result = CliRunner().invoke(app, ["models", "rollouts", "--json"])
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)
    assert (record["id"], record["kind"], record["observations"]) == ("ab:exp", "ab", 1)
    table = CliRunner().invoke(app, ["models", "rollouts"])
    assert "ab:exp" in table.output
