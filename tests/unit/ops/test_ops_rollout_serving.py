"""The serving side of rollouts: the store is the contract between the CLI and the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import InputError, ManualClock
from emily.ops.registry import Decision, DecisionLedger
from emily.ops.rollout import (
    AB_SETTINGS,
    SHADOW,
    SLO,
    ABSettings,
    Answer,
    BlueGreenDeployment,
    CanaryRollout,
    CanaryState,
    RolloutRouter,
    RolloutStore,
    ShadowSettings,
    ab_id,
    shadow_id,
)


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


class Unserved:
    def generate(self, num_samples: int) -> list[int]:
        raise AssertionError("never called")


@pytest.fixture
def parts(tmp_path: Path) -> tuple[RolloutStore, FakeRegistry, ManualClock]:
    clock = ManualClock()
    store = RolloutStore(tmp_path / "rollout.db", clock=clock)
    return store, FakeRegistry(DecisionLedger(tmp_path / "d.db"), clock), clock


def _start_canary(store: RolloutStore, registry: FakeRegistry, *, slo: SLO) -> CanaryRollout:
    """What `emily models canary start` saves (another process, as far as the router knows)."""
    return CanaryRollout(
        model_name="m", champion=Unserved(), challenger=Unserved(), challenger_version="2",
        registry=registry, percent=50.0, slo=slo, min_requests=5, store=store,
    )  # fmt: skip


def _router(
    store: RolloutStore, registry: FakeRegistry, clock: ManualClock, loaded: list[str]
) -> RolloutRouter[str]:
    def load(version: str) -> str:
        loaded.append(version)
        return f"source-v{version}"

    return RolloutRouter(store, "m", "1", load_source=load, registry=lambda: registry,
                         clock=clock, refresh_s=3600.0)  # fmt: skip


def _answer(latency_ms: float) -> Answer:
    return Answer(hypotheses=["a→b"], latency_ms=latency_ms, diversity=0.9)


def _drive(router: RolloutRouter[str], latency_ms: float) -> CanaryState | None:
    """Route keys and report each challenger batch, as the cognition worker does."""
    state = None
    for i in range(200):
        route = router.route(f"window-{i}", "source-v1")
        state = router.observe(route, _answer(latency_ms)) or state
        if state not in (None, CanaryState.RUNNING):
            return state
    return state


def test_without_a_rollout_the_champion_answers(parts: tuple[RolloutStore, FakeRegistry,
                                                             ManualClock]) -> None:  # fmt: skip
    store, registry, clock = parts
    loaded: list[str] = []
    router = _router(store, registry, clock, loaded)
    router.refresh()
    routes = {router.route(f"k{i}", "source-v1").arm for i in range(50)}
    assert routes == {"champion"}
    assert loaded == []


def test_a_canary_saved_by_another_process_is_routed_measured_and_promoted(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, clock = parts
    loaded: list[str] = []
    router = _router(store, registry, clock, loaded)
    router.refresh()
    _start_canary(store, registry, slo=SLO(max_p95_latency_ms=100.0))
    assert {router.route(f"k{i}", "source-v1").arm for i in range(50)} == {"champion"}
    router.refresh()  # the server's periodic re-read picks the canary up
    arms = [router.route(f"k{i}", "source-v1") for i in range(200)]
    assert {r.arm for r in arms} == {"champion", "challenger"}
    assert {r.source for r in arms if r.arm == "challenger"} == {"source-v2"}
    assert loaded == ["2"]

    assert _drive(router, latency_ms=10.0) is CanaryState.PROMOTED
    saved = CanaryRollout.from_store(store, "canary:m:v2", registry=registry)
    assert (saved.state, saved.report().requests) == (CanaryState.PROMOTED, 5)
    assert [(d.what, d.alias, d.version) for d in registry.ledger.history("m")] == [
        ("promote", "champion", "2")
    ]
    after = {router.route(f"k{i}", "source-v1").source for i in range(50)}
    assert after == {"source-v2"}  # the promoted version now answers everything


def test_a_canary_breaking_its_slo_is_rolled_back(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, clock = parts
    router = _router(store, registry, clock, [])
    _start_canary(store, registry, slo=SLO(max_p95_latency_ms=0.001))
    router.refresh()
    assert _drive(router, latency_ms=10.0) is CanaryState.ROLLED_BACK
    (decision,) = registry.ledger.history("m")
    assert decision.what == "clear-alias"
    assert "p95 latency" in decision.why
    assert {router.route(f"k{i}", "source-v1").arm for i in range(50)} == {"champion"}


def test_a_canary_stopped_from_the_cli_stops_routing(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, clock = parts
    router = _router(store, registry, clock, [])
    _start_canary(store, registry, slo=SLO())
    router.refresh()
    stopped = CanaryRollout.from_store(store, "canary:m:v2", registry=registry)
    stopped.finish(CanaryState.STOPPED, why="enough", who="ops")
    route = next(r for i in range(100) if (r := router.route(f"k{i}", "s")).arm == "challenger")
    assert router.observe(route, _answer(1.0)) is CanaryState.STOPPED  # the store has the word
    router.refresh()
    assert {router.route(f"k{i}", "source-v1").arm for i in range(50)} == {"champion"}
    with pytest.raises(InputError, match="already ended"):
        stopped.finish(CanaryState.PROMOTED, why="too late")


def test_shadow_runs_beside_the_champion_and_its_comparisons_are_logged(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, _clock = parts
    logged: list[tuple[int, dict[str, float]]] = []
    router: RolloutRouter[str] = RolloutRouter(
        store, "m", "1", load_source=lambda v: f"source-v{v}", registry=lambda: registry,
        sink=lambda step, metrics: logged.append((step, metrics)), refresh_s=3600.0,
    )  # fmt: skip
    store.save_state(shadow_id("m"), SHADOW, ShadowSettings(model="m", challenger_version="3")
                     .model_dump())  # fmt: skip
    router.refresh()
    route = router.route("k", "source-v1")
    assert (route.arm, route.source, route.shadow) == ("shadow", "source-v1", "source-v3")
    router.compare(_answer(5.0), _answer(7.0), overlap=0.5)
    assert logged == [(1, {
        "shadow.production_latency_ms": 5.0, "shadow.candidate_latency_ms": 7.0,
        "shadow.production_diversity": 0.9, "shadow.candidate_diversity": 0.9,
        "shadow.candidate_error": 0.0, "shadow.overlap": 0.5,
    })]  # fmt: skip
    store.save_state(shadow_id("m"), SHADOW, ShadowSettings(model="m", challenger_version="3",
                     state="stopped").model_dump())  # fmt: skip
    router.refresh()
    assert router.route("k", "source-v1").arm == "champion"


def test_a_version_that_cannot_load_keeps_the_champion_serving(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, _clock = parts

    def load(version: str) -> str:
        raise InputError(f"version {version} models DAGs over other columns")

    router: RolloutRouter[str] = RolloutRouter(store, "m", "1", load_source=load,
                                               registry=lambda: registry)  # fmt: skip
    _start_canary(store, registry, slo=SLO())
    router.refresh()
    assert router.last_error is not None
    assert "other columns" in router.last_error
    assert {router.route(f"k{i}", "source-v1").arm for i in range(50)} == {"champion"}


def _start_ab(store: RolloutStore, *, min_samples: int = 5) -> ABSettings:
    """What `emily models ab start m 2 --share 0.5 --metric latency_ms` saves."""
    settings = ABSettings(model="m", champion_version="1", challenger_version="2", share=0.5,
                          metric="latency_ms", min_samples=min_samples)  # fmt: skip
    settings.test(store)
    store.save_state(ab_id("m", "2"), AB_SETTINGS, settings.model_dump())
    return settings


def test_ab_assignment_is_stable_and_the_winner_goes_to_the_ledger(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, clock = parts
    settings = _start_ab(store)
    router, again = (_router(store, registry, clock, []) for _ in range(2))
    router.refresh()
    again.refresh()  # a second server process (or a restart) assigns every key the same way
    routes = [router.route(f"k{i}", "source-v1") for i in range(100)]
    assert [r.variant for r in routes] == [again.route(f"k{i}", "s").variant for i in range(100)]
    assert {(r.variant, r.source) for r in routes} == {("1", "source-v1"), ("2", "source-v2")}

    for route in routes:  # the challenger is clearly faster
        router.observe(route, _answer(5.0 if route.variant == "2" else 50.0))
        if router.route("k0", "s").experiment is None:
            break
    (verdict,) = registry.ledger.history("m")
    assert (verdict.what, verdict.version, verdict.who) == ("ab-verdict", "2", "ab-test")
    assert "2 wins on latency_ms" in verdict.why
    saved = ABSettings.model_validate(store.load_state(ab_id("m", "2"), AB_SETTINGS))
    assert saved.state == "decided"
    assert saved.verdict == verdict.why
    assert settings.analyse(store).winner == "2"
    router.refresh()
    assert {router.route(f"k{i}", "source-v1").arm for i in range(50)} == {"champion"}


def test_a_blue_green_switch_serves_every_request_until_it_is_rolled_back(
    parts: tuple[RolloutStore, FakeRegistry, ManualClock],
) -> None:
    store, registry, clock = parts
    router = _router(store, registry, clock, [])
    deployment = BlueGreenDeployment("m", Unserved(), "1", recorder=registry.ledger, store=store,
                                     loader=lambda _v: Unserved(), clock=clock)  # fmt: skip
    deployment.deploy(Unserved(), "2", smoke_test=lambda _model: None)  # what the CLI does
    router.refresh()
    assert {router.route(f"k{i}", "source-v1").source for i in range(20)} == {"source-v2"}
    deployment.rollback("slower live")
    router.refresh()
    assert {router.route(f"k{i}", "source-v1").source for i in range(20)} == {"source-v1"}
