"""Tracking and registry against a real MLflow store (SQLite file, shared by this module)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from emily.core import InputError, ManualClock
from emily.ops.registry import (
    COGNITION_MODEL,
    DecisionLedger,
    ModelCardError,
    ModelRegistry,
    load_card,
)
from emily.ops.rollout import SLO, CanaryRollout, CanaryState, ShadowDeployment
from emily.ops.tracking import (
    MlflowTracker,
    TrackingConfig,
    TrainingOutput,
    make_client,
    track_training,
)

pytestmark = [pytest.mark.slow]

CARD = Path(__file__).resolve().parents[3] / "model_cards" / f"{COGNITION_MODEL}.yaml"


@dataclass(frozen=True)
class Step:
    """Shaped like the GFlowNet's StepMetrics: a dataclass with ``step`` and optional L1/JSD."""

    step: int
    loss: float
    log_z: float
    diversity: float
    modes: int
    l1: float | None = None


@dataclass
class Env:
    home: Path
    config: TrackingConfig
    registry: ModelRegistry
    clock: ManualClock


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    home = tmp_path_factory.mktemp("mlflow-home")
    config = TrackingConfig(
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        artifact_root=(home / "artifacts").as_uri(),
    )
    clock = ManualClock()
    ledger = DecisionLedger(home / "ops" / "decisions.db")
    registry = ModelRegistry(config=config, ledger=ledger, clock=clock)
    return Env(home, config, registry, clock)


def _train(env: Env, scale: float, *, steps: int = 5) -> str:
    def trainer(callback):  # type: ignore[no-untyped-def]
        for step in range(steps):
            callback(Step(step, loss=1.0 / (step + 1), log_z=0.1 * step, diversity=0.8, modes=3))
        callback(steps, {"l1": 0.2})
        model = torch.nn.Linear(2, 2)
        with torch.no_grad():
            model.weight.fill_(scale)
        return TrainingOutput(model=model, hypotheses=["a", "b", "a", "c"])

    run = track_training(trainer, {"lr": 0.01, "sizes": [4, 8]}, config=env.config, clock=env.clock)
    assert run.metrics["loss"] == pytest.approx(1.0 / steps)
    assert "l1" in run.metrics
    return run.run_id


def test_training_run_is_tracked_with_metrics_model_and_plots(env: Env) -> None:
    run_id = _train(env, 1.0)
    client = make_client(env.config)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.01", "sizes": "[4, 8]"}
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [0, 1, 2, 3, 4]
    assert "l1" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run_id, "model")}
    assert artifacts == {"model/state_dict.pt", "model/emily_model.json"}
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert plots == {"plots/loss_curve.png", "plots/hypothesis_distribution.png"}
    assert str(env.home / "artifacts") in run.info.artifact_uri


def test_a_failing_trainer_marks_the_run_failed(env: Env) -> None:
    tracker = MlflowTracker(config=env.config, clock=env.clock, run_name="doomed")

    def trainer(callback):  # type: ignore[no-untyped-def]
        callback(0, {"loss": float("nan")})
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"), tracker:
        trainer(tracker.callback)
    runs = make_client(env.config).search_runs(
        [tracker.experiment_id], "attributes.run_name = 'doomed'"
    )
    assert runs[0].info.status == "FAILED"
    assert runs[0].data.tags["emily.error"] == "RuntimeError: diverged"
    assert runs[0].data.tags["emily.nonfinite.loss"] == "0"
    with pytest.raises(InputError, match="has no run"):
        tracker.callback(0, {"loss": 1.0})


def test_register_promote_rollback_and_load_the_champion(env: Env) -> None:
    registry = env.registry
    v1 = registry.register(run_id=_train(env, 1.0), name=COGNITION_MODEL, card=CARD)
    assert v1.card is not None
    assert set(v1.card.metrics) == {"loss", "log_z", "diversity"}
    assert v1.card.metrics["loss"] == pytest.approx(0.2)
    assert v1.card.spec == load_card(CARD)
    registry.promote(COGNITION_MODEL, v1.version, why="first model")
    assert registry.model_uri(COGNITION_MODEL) == f"models:/{COGNITION_MODEL}@champion"
    weights = registry.load_state_dict(COGNITION_MODEL)
    assert torch.equal(weights["weight"], torch.ones(2, 2))

    v2 = registry.register(run_id=_train(env, 2.0), name=COGNITION_MODEL, card=CARD)
    registry.promote(COGNITION_MODEL, v2.version, alias="challenger", why="try it")
    registry.promote(COGNITION_MODEL, v2.version, why="won the A/B test")
    assert registry.version(COGNITION_MODEL, v2.version).aliases == ["champion"]
    assert torch.equal(registry.load_state_dict(COGNITION_MODEL)["weight"], torch.full((2, 2), 2.0))
    with pytest.raises(InputError, match="already holds"):
        registry.promote(COGNITION_MODEL, v2.version, why="again")

    back = registry.rollback(COGNITION_MODEL, who="bob", why="regression in prod")
    assert (back.version, back.previous_version) == (v1.version, v2.version)
    assert registry.alias_holder(COGNITION_MODEL) == v1.version
    with pytest.raises(InputError, match="nothing to roll back to"):
        registry.rollback(COGNITION_MODEL, why="again")

    whats = [(d.what, d.alias) for d in registry.history(COGNITION_MODEL)]
    assert whats == [
        ("register", None),
        ("promote", "champion"),
        ("register", None),
        ("promote", "challenger"),
        ("promote", "champion"),
        ("clear-alias", "challenger"),
        ("rollback", "champion"),
    ]
    listed = {m.name: m for m in registry.list_models()}[COGNITION_MODEL]
    assert listed.aliases == {"champion": v1.version}
    assert listed.latest_version == v2.version


def test_a_broken_card_blocks_registration(env: Env, tmp_path: Path) -> None:
    run_id = _train(env, 3.0)
    name = "carded"
    bad_cards = {
        "missing.yaml": None,
        "typed.yaml": CARD.read_text().replace("  - diversity", "  diversity: 0.89"),
        "absent-metric.yaml": CARD.read_text().replace("  - diversity", "  - jsd"),
        "no-use.yaml": CARD.read_text().replace("intended_use:", "intended_purpose:"),
        "other-model.yaml": CARD.read_text(),
    }
    for filename, text in bad_cards.items():
        path = tmp_path / filename
        if text is not None:
            path.write_text(text.replace(f"name: {COGNITION_MODEL}", f"name: {name}")
                            if filename != "other-model.yaml" else text)  # fmt: skip
        with pytest.raises(ModelCardError):
            env.registry.register(run_id=run_id, name=name, card=path)
    assert name not in {m.name for m in env.registry.list_models()}
    with pytest.raises(InputError, match="no tracked run"):
        env.registry.register(run_id="0" * 32, name=COGNITION_MODEL, card=CARD)


def test_shadow_comparisons_land_in_mlflow(env: Env) -> None:
    class Model:
        def __init__(self, width: int) -> None:
            self.width = width

        def generate(self, num_samples: int) -> list[int]:
            return [i % self.width for i in range(num_samples)]

    with MlflowTracker(config=env.config, clock=env.clock, run_name="shadow") as tracker:
        shadow = ShadowDeployment(Model(4), Model(2), tracker.callback, clock=env.clock)
        for _ in range(3):
            assert shadow.generate(8) == [0, 1, 2, 3, 0, 1, 2, 3]
        run_id = tracker.run_id
    client = make_client(env.config)
    assert len(client.get_metric_history(run_id, "shadow.overlap")) == 3
    assert client.get_run(run_id).data.metrics["shadow.candidate_diversity"] == 0.25


def test_canary_rolls_back_a_challenger_that_breaks_an_slo(env: Env) -> None:
    name = "canaried"
    card = tmp_card(env.home, name)
    registry = env.registry
    v1 = registry.register(run_id=_train(env, 1.0), name=name, card=card)
    v2 = registry.register(run_id=_train(env, 2.0), name=name, card=card)
    registry.promote(name, v1.version, why="baseline")
    registry.promote(name, v2.version, alias="challenger", why="canary it")

    class Slow:
        def generate(self, num_samples: int) -> list[int]:
            env.clock.advance(0.2)  # 200 ms per call: breaks the 50 ms p95 SLO
            return list(range(num_samples))

    class Fast:
        def generate(self, num_samples: int) -> list[int]:
            return list(range(num_samples))

    canary = CanaryRollout(
        model_name=name, champion=Fast(), challenger=Slow(), challenger_version=v2.version,
        registry=registry, percent=20.0, slo=SLO(max_p95_latency_ms=50.0), min_requests=20,
        clock=env.clock,
    )  # fmt: skip
    for i in range(400):
        canary.generate(f"user-{i}", 4)
    assert canary.state is CanaryState.ROLLED_BACK
    assert registry.alias_holder(name, "challenger") is None
    assert registry.alias_holder(name) == v1.version
    last = registry.history(name)[-1]
    assert (last.what, last.who, last.previous_version) == ("clear-alias", "canary", v2.version)
    assert "p95 latency" in last.why


def tmp_card(home: Path, name: str) -> Path:
    path = home / f"{name}.yaml"
    path.write_text(CARD.read_text().replace(f"name: {COGNITION_MODEL}", f"name: {name}"))
    return path


def test_cli_models_commands(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from emily.cli.ops_commands import register_ops_commands

    app = typer.Typer()
    register_ops_commands(app)
    monkeypatch.setenv("EMILY_HOME", str(env.home))
    monkeypatch.setenv("EMILY_MLFLOW_URI", env.config.tracking_uri)
    name = "clied"
    card = tmp_card(env.home, name)
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "v1" in ok("models", "register", _train(env, 1.0), name, "--card", str(card))
    monkeypatch.chdir(tmp_path)  # the default card is model_cards/NAME.yaml
    (tmp_path / "model_cards").mkdir()
    (tmp_path / "model_cards" / f"{name}.yaml").write_text(card.read_text())
    assert "v2" in ok("models", "register", _train(env, 2.0), name)
    v1, v2 = env.registry.version(name, "1"), env.registry.version(name, "2")

    ok("models", "promote", name, v1.version, "--why", "first")
    assert "v2" in ok("models", "promote", name, v2.version, "--why", "better")
    assert f"v{v2.version} → v{v1.version}" in ok("models", "rollback", name, "--why", "oops")
    assert name in ok("models", "list")
    listed = {m["name"]: m for m in json.loads(ok("models", "list", "--json"))}
    assert listed[name]["aliases"] == {"champion": v1.version}
    assert "oops" in ok("models", "history", name)
    history = json.loads(ok("models", "history", name, "--json"))
    assert [h["what"] for h in history] == [
        "register",
        "register",
        "promote",
        "promote",
        "rollback",
    ]
    assert history[-1]["who"]


def test_the_cognition_gflownet_round_trips_through_tracking_and_registry(env: Env) -> None:
    from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid
    from emily.ops.rollout import DescribedSamples, default_smoke_test

    net = GFlowNet(HyperGrid(ndim=2, height=4), GFlowNetConfig())

    def trainer(callback):  # type: ignore[no-untyped-def]
        net.train(steps=10, callbacks=[callback], progress=False)
        return TrainingOutput(model=net, hypotheses=[str(d) for d in net.generate(64).descriptions])

    run = track_training(trainer, {"steps": 10}, config=env.config, clock=env.clock)
    assert {"loss", "log_z", "diversity", "modes"} <= set(run.metrics)
    name = "gfn-roundtrip"
    version = env.registry.register(run_id=run.run_id, name=name, card=tmp_card(env.home, name))
    env.registry.promote(name, version.version, why="round trip")
    loaded = GFlowNet.load(env.registry.load_checkpoint(name, version.version))
    assert default_smoke_test(DescribedSamples(loaded)) is None
    with pytest.raises(InputError, match="not a state dict"):
        env.registry.load_state_dict(name)


def test_a_run_whose_model_never_finished_logging_is_refused_in_one_line(env: Env) -> None:
    """A logged model left FAILED (the store went away mid-upload) is not registered, and the
    fallback reads the run's own files: MLflow's run listing would also look for that model,
    through its process-wide URI, in another store."""
    from mlflow.entities import LoggedModelOutput

    client = make_client(env.config)
    with MlflowTracker(config=env.config, clock=env.clock, run_name="half-logged") as tracker:
        tracker.callback(Step(0, loss=1.0, log_z=0.0, diversity=0.5, modes=1))
        model = client.create_logged_model(
            tracker.experiment_id, name="model", source_run_id=tracker.run_id
        )
        client.log_outputs(tracker.run_id, [LoggedModelOutput(model.model_id, step=0)])
        client.finalize_logged_model(model.model_id, "FAILED")
        run_id = tracker.run_id
    card = tmp_card(env.home, "half-logged")
    with pytest.raises(InputError, match=f"run {run_id} logged no model under 'model'"):
        env.registry.register(run_id=run_id, name="half-logged", card=card)
