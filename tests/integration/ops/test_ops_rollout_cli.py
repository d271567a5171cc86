"""``emily models canary|shadow``: the CLI writes the rollout the server obeys, on real MLflow."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emily.cli.app import app
from emily.core import InputError
from emily.ops.rollout import CanaryRollout, CanaryState, RolloutStore

REPO = Path(__file__).resolve().parents[3]
MODEL = "emily-gflownet"


def ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.output


def refused(*args: str) -> str:
    """The one-line reason (``emily.cli.app.main`` prints it red and exits 2)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code != 0, result.output
    if isinstance(result.exception, InputError):
        return str(result.exception)
    assert result.exit_code == 2, f"{result.output}\n{result.exception!r}"  # a Typer usage error
    return result.output


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with two registered versions, v1 the champion: trained once for the module."""
    home = tmp_path_factory.mktemp("rollout-cli") / "home"
    card = str(REPO / "model_cards" / f"{MODEL}.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EMILY_HOME", str(home))
        for seed in ("0", "1"):
            ok("train", "--env", "dag", "--demo", "--steps", "5", "--seed", seed, "--json",
               "--out", str(home.parent / f"g{seed}.pt"), "--register", MODEL,
               "--card", card)  # fmt: skip
        ok("models", "promote", MODEL, "1", "--why", "first")
    return home


@pytest.fixture
def two_versions(trained_home: Path) -> None:
    """Each test's own copy of that home (its registry and rollout state; the model files stay
    in the module's home, where the registry's sources point)."""
    shutil.copytree(trained_home, os.environ["EMILY_HOME"], dirs_exist_ok=True)


@pytest.mark.usefixtures("two_versions")
def test_canary_start_status_and_promote_by_hand() -> None:
    ok("models", "canary", "start", MODEL, "2", "--share", "0.25", "--min-samples", "7",
       "--max-p95-ms", "900", "--min-diversity", "0.1", "--max-error-rate", "0.2")  # fmt: skip
    (status,) = json.loads(ok("models", "canary", "status", MODEL, "--json"))
    assert status["state"] == "running"
    assert (status["share"], status["min_samples"]) == (0.25, 7)
    assert status["slo"] == {"max_p95_latency_ms": 900.0, "min_diversity": 0.1,
                             "max_error_rate": 0.2}  # fmt: skip
    assert status["report"]["requests"] == 0
    assert json.loads(ok("models", "list", "--json"))[0]["aliases"] == {
        "champion": "1",
        "challenger": "2",
    }
    assert "already running" in refused("models", "canary", "start", MODEL, "2")
    listed = json.loads(ok("models", "rollouts", "--json"))
    assert [(r["id"], r["state"]["state"]) for r in listed] == [(status["id"], "running")]

    ok("models", "canary", "promote", MODEL, "--why", "looked fine")
    saved = CanaryRollout.from_store(RolloutStore.default(), status["id"], registry=object())  # type: ignore[arg-type]
    assert saved.state is CanaryState.PROMOTED
    history = json.loads(ok("models", "history", MODEL, "--json"))
    assert [(d["what"], d["alias"], d["version"], d["why"]) for d in history[-3:]] == [
        ("promote", "challenger", "2", "canary"),
        ("promote", "champion", "2", "looked fine"),
        ("clear-alias", "challenger", None, "graduated to champion: looked fine"),
    ]
    assert "no canary of" in refused("models", "canary", "stop", MODEL)


@pytest.mark.usefixtures("two_versions")
def test_canary_rollback_and_bad_starts() -> None:
    assert "champion already" in refused("models", "canary", "start", MODEL, "1")
    refused("models", "canary", "start", MODEL, "2", "--share", "1.5")
    ok("models", "canary", "start", MODEL, "2")
    ok("models", "canary", "rollback", MODEL, "--why", "changed my mind")
    assert json.loads(ok("models", "list", "--json"))[0]["aliases"] == {"champion": "1"}
    assert "rolled-back" in ok("models", "canary", "status")
    assert "had a canary already" in refused("models", "canary", "start", MODEL, "2")


@pytest.mark.usefixtures("two_versions")
def test_shadow_start_status_stop_and_promote() -> None:
    ok("models", "shadow", "start", MODEL, "2")
    assert json.loads(ok("models", "shadow", "status", MODEL, "--json")) == {
        "model": MODEL,
        "challenger_version": "2",
        "state": "running",
    }
    assert "already runs in shadow" in refused("models", "shadow", "start", MODEL, "2")
    ok("models", "shadow", "stop", MODEL)
    assert json.loads(ok("models", "shadow", "status", MODEL, "--json"))["state"] == "stopped"
    assert "no shadow rollout" in refused("models", "shadow", "stop", MODEL)
    ok("models", "shadow", "start", MODEL, "2")
    ok("models", "shadow", "promote", MODEL, "--why", "shadow compared well")
    assert json.loads(ok("models", "list", "--json"))[0]["aliases"] == {"champion": "2"}


@pytest.mark.usefixtures("two_versions")
def test_ab_start_status_stop_and_promote() -> None:
    assert "--metric 'speed'" in refused("models", "ab", "start", MODEL, "2", "--metric", "speed")
    ok("models", "ab", "start", MODEL, "2", "--share", "0.3", "--metric", "latency_ms",
       "--min-samples", "10")  # fmt: skip
    (status,) = json.loads(ok("models", "ab", "status", MODEL, "--json"))
    assert (status["experiment"], status["state"]) == (f"{MODEL}-v2", "running")
    assert (status["champion_version"], status["challenger_version"]) == ("1", "2")
    assert status["analysis"]["summary"].startswith("not yet: too few samples")
    assert "already running" in refused("models", "ab", "start", MODEL, "2")
    ok("models", "ab", "stop", MODEL)
    assert json.loads(ok("models", "ab", "status", MODEL, "--json"))[0]["state"] == "stopped"
    assert "no A/B test" in refused("models", "ab", "promote", MODEL, "--why", "x")
    assert "had an A/B test already" in refused("models", "ab", "start", MODEL, "2")
    assert "stopped" in ok("models", "ab", "status")


@pytest.mark.usefixtures("two_versions")
def test_bluegreen_switch_after_a_smoke_test_and_roll_back_in_the_window() -> None:
    assert "live already" in refused("models", "bluegreen", "start", MODEL, "1")
    ok("models", "bluegreen", "start", MODEL, "2", "--window-s", "3600")
    status = json.loads(ok("models", "bluegreen", "status", MODEL, "--json"))
    assert (status["live_version"], status["standby_version"]) == ("2", "1")
    assert status["can_roll_back"] is True
    ok("models", "bluegreen", "rollback", MODEL, "--why", "v2 slower live")
    status = json.loads(ok("models", "bluegreen", "status", MODEL, "--json"))
    assert (status["live_version"], status["can_roll_back"]) == ("1", False)
    assert "no rollback" in refused("models", "bluegreen", "rollback", MODEL)
    history = json.loads(ok("models", "history", MODEL, "--json"))
    assert [(d["what"], d["version"], d["previous_version"]) for d in history[-2:]] == [
        ("blue-green-switch", "2", "1"),
        ("blue-green-rollback", "1", "2"),
    ]
    ok("models", "bluegreen", "start", MODEL, "2", "--window-s", "0")
    ok("models", "bluegreen", "promote", MODEL, "--why", "v2 held up")
    assert json.loads(ok("models", "list", "--json"))[0]["aliases"] == {"champion": "2"}
