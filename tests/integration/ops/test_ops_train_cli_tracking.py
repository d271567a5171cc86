"""`emily train` tracks its run in MLflow; `emily models register RUN NAME` registers it.

The CLI as a user calls it (Typer's runner on the real app), the embedded SQLite store under
EMILY_HOME, read back with MLflow's own client.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
from typer.testing import CliRunner

from emily.cli.app import app
from emily.ops.registry import ModelCardError, ModelRegistry
from emily.ops.registry._registry import _process_tracking_uri
from emily.ops.tracking import make_client, tracking_config

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow.entities import Run

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
    assert not (Path(urlparse(run.info.artifact_uri).path) / "model").exists()  # no loose copy
    (model_id,) = _model_ids(run)  # the model, as an MLflow Model
    assert client.get_logged_model(model_id).model_type == "emily-gflownet"
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


def _model_ids(run: Run) -> list[str]:
    """The MLflow Models the run lists as its outputs (what its model views show)."""
    return [o.model_id for o in (run.outputs.model_outputs if run.outputs else [])]


def _checkpoints(root: Path) -> list[Path]:
    """Every stored copy of a GFlowNet checkpoint under an artifact root."""
    return sorted(root.rglob("checkpoint.pt"))


def test_train_logs_the_gflownet_once_as_the_mlflow_model_registration_points_at(
    tmp_path: Path,
) -> None:
    """The run's MLflow views list the model as soon as training ends; registering the run
    makes a version of that model, stores no second checkpoint, and the warm start reads it."""
    from mlflow.artifacts import download_artifacts
    from mlflow.models import Model

    out = _ok("train", "--env", "dag", "--demo", "--steps", "3", "--hidden", "16",
              "--no-progress", "--json", "--out", str(tmp_path / "g.pt"))  # fmt: skip
    trained = json.loads(out.splitlines()[-1])
    run_id = trained["run_id"]
    config = tracking_config()
    assert config.artifact_root is not None
    root = Path(urlparse(config.artifact_root).path)
    client = make_client(config)
    (model_id,) = _model_ids(client.get_run(run_id))  # before any registration
    logged = client.get_logged_model(model_id)
    assert (logged.name, logged.status.name, logged.source_run_id) == ("model", "READY", run_id)
    assert trained["model_uri"] == f"runs:/{run_id}/model"  # MLflow resolves it to the model
    # MLflow resolves a logged model through its process-wide URI (set as a user would).
    with tempfile.TemporaryDirectory() as tmp, _process_tracking_uri(config.tracking_uri):
        folder = download_artifacts(artifact_uri=trained["model_uri"], dst_path=tmp)
        model = Model.load(str(Path(folder) / "MLmodel"))
    assert "python_function" in model.flavors
    assert model.signature is not None
    assert model.saved_input_example_info is not None
    assert len(_checkpoints(root)) == 1

    _ok("models", "register", run_id, "emily-gflownet", "--card", str(CARD))
    version = client.get_model_version("emily-gflownet", "1")
    assert version.source == f"models:/{logged.model_id}"
    assert _model_ids(client.get_run(run_id)) == [logged.model_id]
    (stored,) = _checkpoints(root)  # still the one copy, inside the logged model
    assert logged.model_id in stored.parts
    assert ModelRegistry().load_checkpoint("emily-gflownet", "1") == stored.read_bytes()


def test_train_on_a_non_enumerable_dag_draws_the_mcmc_reference_as_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """d = 7 has no exact posterior; the hypothesis plot's target is then structure MCMC on the
    same score, its graphs labelled as the env labels the GFlowNet's samples."""
    import numpy as np

    from emily.cognition.envs import DAGHypotheses
    from emily.cognition.gflownet import GFlowNet
    from emily.ops.tracking import hypothesis_distribution_figure as real
    from emily.ops.tracking import hypothesis_label

    drawn: list[tuple[dict[str, Any], Figure]] = []

    def spy(counts: Any, **kwargs: Any) -> Figure:
        figure = real(counts, **kwargs)
        drawn.append((kwargs, figure))
        return figure

    monkeypatch.setattr("emily.ops.tracking._tracker.hypothesis_distribution_figure", spy)
    _ok("train", "--env", "dag", "--nodes", "7", "--steps", "2", "--hidden", "16",
        "--no-progress", "--json", "--out", str(tmp_path / "g.pt"))  # fmt: skip
    ((kwargs, figure),) = drawn
    assert kwargs["target_name"] == "MCMC reference"
    legend = figure.axes[0].get_legend()
    assert legend is not None
    assert "MCMC reference probability" in [t.get_text() for t in legend.get_texts()]
    target = kwargs["target"]
    assert sum(target.values()) == pytest.approx(1.0)
    assert all(p * 1000 == pytest.approx(round(p * 1000)) for p in target.values())  # 1,000 draws
    env = GFlowNet.load(tmp_path / "g.pt").env
    assert isinstance(env, DAGHypotheses)
    index = {name: i for i, name in enumerate(env.columns)}
    for label in target:  # each label is the env's own label of a graph in its space
        adjacency = np.zeros((7, 7), dtype=bool)
        if label != "(no edges)":
            for edge in str(label).split(", "):
                parent, child = edge.split("→")
                adjacency[index[parent], index[child]] = True
        assert hypothesis_label(env.describe(env.state_from(adjacency))[0]) == label
