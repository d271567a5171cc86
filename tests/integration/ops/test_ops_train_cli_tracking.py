"""`emily train` tracks its run in MLflow; `emily models register RUN NAME` registers it.

The CLI as a user calls it (Typer's runner on the real app), the embedded SQLite store under
EMILY_HOME, read back with MLflow's own client.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emily.cli.app import app
from emily.ops.registry import ModelCardError, ModelRegistry
from emily.ops.tracking import make_client, tracking_config

pytestmark = pytest.mark.slow

CARD = Path(__file__).resolve().parents[3] / "model_cards" / "emily-gflownet.yaml"


def _ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.output


def test_train_logs_params_step_metrics_model_and_plots(tmp_path: Path) -> None:
    out = _ok("train", "--env", "hypergrid", "--ndim", "2", "--height", "4", "--steps", "12",
              "--eval-every", "4", "--hidden", "16", "--variant", "v2", "--json",
              "--out", str(tmp_path / "g.pt"))  # fmt: skip
    trained = json.loads(out.splitlines()[-1])
    client = make_client(tracking_config())
    run = client.get_run(trained["run_id"])
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert (params["variant"], params["hidden"], params["steps"], params["env"]) == (
        "v2", "16", "12", "hypergrid",
    )  # fmt: skip
    for metric in ("loss", "log_z", "diversity", "modes"):
        steps = [m.step for m in client.get_metric_history(run.info.run_id, metric)]
        assert len(steps) == 12, metric  # one point per optimiser step
    l1_steps = [m.step for m in client.get_metric_history(run.info.run_id, "l1")]
    assert len(l1_steps) >= 3  # every 4th step, and the final policy
    assert {"l1", "jsd"} <= set(run.data.metrics)
    assert trained["l1"] == pytest.approx(run.data.metrics["l1"])
    model = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert model == {"model/checkpoint.pt", "model/emily_model.json"}
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/loss_curve.png", "plots/hypothesis_distribution.png"}


def test_models_register_from_a_train_run_copies_the_card_metrics(tmp_path: Path) -> None:
    out = _ok("train", "--env", "dag", "--demo", "--steps", "5", "--no-progress", "--json",
              "--out", str(tmp_path / "g.pt"))  # fmt: skip
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    assert "registered emily-gflownet v1" in _ok(
        "models", "register", run_id, "emily-gflownet", "--card", str(CARD)
    )
    info = ModelRegistry().version("emily-gflownet", "1")
    assert info.card is not None
    run_metrics = make_client(tracking_config()).get_run(run_id).data.metrics
    assert info.card.metrics == {k: run_metrics[k] for k in ("loss", "log_z", "diversity")}


def test_train_register_with_a_broken_card_registers_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "emily-gflownet.yaml"
    broken.write_text(CARD.read_text().replace("intended_use:", "intended_purpose:"))
    result = CliRunner().invoke(
        app,
        ["train", "--steps", "2", "--no-progress", "--out", str(tmp_path / "g.pt"),
         "--register", "emily-gflownet", "--card", str(broken)],
    )  # fmt: skip
    assert isinstance(result.exception, ModelCardError), result.output
    assert "intended_use: Field required" in str(result.exception)
    assert ModelRegistry().list_models() == []
    assert not (tmp_path / "g.pt").exists()  # refused before training, not after


def test_train_names_the_run_prints_its_url_and_explains_the_metrics(tmp_path: Path) -> None:
    """Two runs of one command are told apart (variant, env, short id), the printout links the
    run, and L1/JSD say their range."""
    args = ("train", "--env", "hypergrid", "--ndim", "2", "--height", "3", "--steps", "3",
            "--hidden", "8", "--variant", "v2", "--no-progress")  # fmt: skip
    first = _ok(*args, "--out", str(tmp_path / "a.pt"))
    second = _ok(*args, "--out", str(tmp_path / "b.pt"))
    client = make_client(tracking_config())
    names = []
    for out in (first, second):
        run_id = next(ln.split()[-1] for ln in out.splitlines() if ln.startswith("run_id:"))
        run = client.get_run(run_id)
        names.append(run.info.run_name)
        assert run.info.run_name == f"v2-hypergrid-{run_id[:8]}"
        assert f"#/experiments/{run.info.experiment_id}/runs/{run_id}" in out
        assert run.info.run_name in out
    assert names[0] != names[1]
    assert "of 2.0 max" in first  # l1 explained
    assert "of 0.693 max" in first  # jsd explained
