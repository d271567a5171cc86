"""The cognition worker honours rollouts: real samplers in the worker's process, a real store."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from emily.core import ManualClock, system_clock
from emily.ops.registry import Decision, DecisionLedger
from emily.ops.rollout import (
    SHADOW,
    SLO,
    CanaryRollout,
    CanaryState,
    RolloutRouter,
    RolloutStore,
    ShadowSettings,
    shadow_id,
)
from emily.runtime.builder import DEMO_FEATURES
from emily.runtime.cognition_worker import CognitionWorker, HypothesisBatch, HypothesisSource
from emily.runtime.stimuli import demo_dataset, demo_stream
from emily.runtime.structure import CausalStructureSource


class Registry:
    """Records the verdict in a real ledger (the MLflow side is covered by the e2e tests)."""

    def __init__(self, ledger: DecisionLedger) -> None:
        self.ledger = ledger

    def promote(self, name: str, version: str, *, alias: str = "champion", who: str = "x",
                why: str) -> Decision:  # fmt: skip
        d = Decision(who=who, what="promote", why=why, when=system_clock().now(), model=name,
                     version=version, alias=alias)  # fmt: skip
        self.ledger.record(d)
        return d

    def clear_alias(self, name: str, alias: str, *, who: str = "x", why: str) -> Decision:
        raise AssertionError(f"unexpected rollback: {why}")


class Unserved:
    """The canary object only records the rollout here: the worker serves the batches."""

    def generate(self, num_samples: int) -> list[str]:
        raise AssertionError("the worker serves, not the canary object")


def _source(seed: int) -> CausalStructureSource:
    return CausalStructureSource(DEMO_FEATURES, seed=seed, samples=32)


def _wait(what: str, done: Callable[[], bool], worker: CognitionWorker) -> None:
    deadline = time.monotonic() + 180
    stream = demo_stream(demo_dataset(), seed=3)
    while not done():
        assert time.monotonic() < deadline, f"timed out: {what} ({worker.last_error})"
        for _ in range(8):
            worker.offer(next(stream))
        time.sleep(0.2)


def _worker(
    tmp_path: Path, batches: list[HypothesisBatch], sink: Callable[[int, dict[str, float]], None]
) -> tuple[CognitionWorker, RolloutRouter[HypothesisSource], RolloutStore, DecisionLedger]:
    store = RolloutStore(tmp_path / "rollout.db")
    ledger = DecisionLedger(tmp_path / "decisions.db")
    router: RolloutRouter[HypothesisSource] = RolloutRouter(
        store, "m", "1", load_source=lambda v: _source(int(v)), registry=lambda: Registry(ledger),
        sink=sink, refresh_s=3600.0,
    )  # fmt: skip
    worker = CognitionWorker(_source(1), batches.append, clock=system_clock(), window=16)
    worker.attach_router(router)
    return worker, router, store, ledger


def test_a_shadow_runs_after_the_champion_and_only_the_champion_answers(tmp_path: Path) -> None:
    batches: list[HypothesisBatch] = []
    logged: list[dict[str, float]] = []
    worker, router, store, _ = _worker(tmp_path, batches, lambda _step, m: logged.append(m))
    store.save_state(shadow_id("m"), SHADOW,
                     ShadowSettings(model="m", challenger_version="5").model_dump())  # fmt: skip
    router.refresh()
    try:
        _wait("two shadow comparisons", lambda: len(logged) >= 2, worker)
    finally:
        worker.close()
    assert worker.failures == 0, worker.last_error
    assert len(batches) >= len(logged)  # each comparison follows a served champion batch
    assert set(logged[0]) == {
        "shadow.production_latency_ms", "shadow.candidate_latency_ms",
        "shadow.production_diversity", "shadow.candidate_diversity",
        "shadow.candidate_error", "shadow.overlap",
    }  # fmt: skip
    assert logged[0]["shadow.candidate_error"] == 0.0
    assert 0.0 <= logged[0]["shadow.overlap"] <= 1.0


def test_a_canary_is_measured_per_batch_and_promoted_by_its_verdict(tmp_path: Path) -> None:
    batches: list[HypothesisBatch] = []
    worker, router, store, ledger = _worker(tmp_path, batches, lambda _step, _m: None)
    CanaryRollout(
        model_name="m", champion=Unserved(), challenger=Unserved(), challenger_version="2",
        registry=Registry(ledger), percent=100.0, min_requests=3, store=store,
        slo=SLO(max_p95_latency_ms=600_000.0, min_diversity=0.0, max_error_rate=0.0),
        clock=ManualClock(),
    )  # fmt: skip
    router.refresh()

    def decided() -> bool:
        saved = store.load_state("canary:m:v2", "canary")
        return saved is not None and saved["state"] != CanaryState.RUNNING.value

    try:
        _wait("the canary's verdict", decided, worker)
    finally:
        worker.close()
    assert worker.failures == 0, worker.last_error
    assert len(store.observations("canary:m:v2")) == 3
    (verdict,) = ledger.history("m")
    assert (verdict.what, verdict.version, verdict.alias) == ("promote", "2", "champion")
    assert len(batches) >= 3  # the challenger's batches were served


class Broken(CausalStructureSource):
    """A challenger whose every batch fails (a bad checkpoint, an OOM)."""

    def hypothesise(self, window: object) -> HypothesisBatch:  # type: ignore[override]
        raise RuntimeError("challenger down")


def test_a_window_whose_challenger_fails_is_answered_by_the_champion(tmp_path: Path) -> None:
    batches: list[HypothesisBatch] = []
    store = RolloutStore(tmp_path / "rollout.db")
    ledger = DecisionLedger(tmp_path / "decisions.db")
    router: RolloutRouter[HypothesisSource] = RolloutRouter(
        store, "m", "1", load_source=lambda v: Broken(DEMO_FEATURES, seed=2, samples=32),
        registry=lambda: Registry(ledger), refresh_s=3600.0,
    )  # fmt: skip
    worker = CognitionWorker(_source(1), batches.append, clock=system_clock(), window=16)
    worker.attach_router(router)
    CanaryRollout(
        model_name="m", champion=Unserved(), challenger=Unserved(), challenger_version="2",
        registry=Registry(ledger), percent=100.0, min_requests=10_000, store=store,
        slo=SLO(max_p95_latency_ms=600_000.0, min_diversity=0.0, max_error_rate=1.0),
        clock=ManualClock(),
    )  # fmt: skip
    router.refresh()  # max_error_rate 1.0: the canary keeps running however often it fails
    try:  # every window goes to the challenger (100 %), which fails every time
        _wait("three windows answered", lambda: len(batches) >= 3, worker)
    finally:
        worker.close()
    assert worker.failures >= 3
    assert worker.last_error == "RuntimeError: challenger down"
    errors = [m for _arm, m in store.observations("canary:m:v2") if m["error"]]
    assert len(errors) >= 3  # each failure still counts against the challenger
    assert all(b.hypotheses for b in batches)  # the champion's answers
