"""The `cognition` Typer sub-app: train and sample on tiny spaces."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emily.cli.cognition import app, er_edge_penalty
from emily.core.errors import InputError

runner = CliRunner()


def test_train_then_sample_hypergrid(tmp_path: Path) -> None:
    out = tmp_path / "g.pt"
    res = runner.invoke(
        app,
        ["train", "--steps", "5", "--ndim", "2", "--height", "4", "--hidden", "16",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["steps"] == 5
    assert "l1" in payload
    assert out.exists()
    res = runner.invoke(app, ["sample", str(out), "-n", "200", "--top", "3", "--json"])
    assert res.exit_code == 0, res.output
    sampled = json.loads(res.output)
    assert sampled["samples"] == 200
    assert len(sampled["top"]) <= 3
    assert isinstance(sampled["mode_collapse"], bool)
    res = runner.invoke(app, ["sample", str(out), "-n", "50"])
    assert res.exit_code == 0
    assert "diversity" in res.output


def test_train_dag_from_csv_and_synthetic(tmp_path: Path) -> None:
    from emily.cognition.data import synthetic_linear_gaussian

    data, _ = synthetic_linear_gaussian(d=3, seed=2)
    csv = tmp_path / "d.csv"
    data.to_csv(csv, index=False)
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv), "--steps", "3", "--hidden", "16",
         "--out", str(tmp_path / "d.pt"), "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "jsd" in res.output
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--nodes", "3", "--steps", "2", "--hidden", "16",
         "--out", str(tmp_path / "s.pt"), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output


def test_bdeu_without_data_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "--env", "dag", "--score", "bdeu", "--steps", "1"])
    assert res.exit_code != 0
    assert "BDeu needs" in str(res.exception)


# --- structure learning from a user's table ----------------------------------------------------
def _user_csv(tmp_path: Path, d: int = 3, n: int = 60) -> Path:
    """A linear-Gaussian table as a user has it: written with its pandas index, in raw units."""
    from emily.cognition.data import synthetic_linear_gaussian

    data, _ = synthetic_linear_gaussian(d=d, n=n, seed=5)
    data = data * [10.0**k for k in range(d)]
    path = tmp_path / "my.csv"
    data.to_csv(path)
    return path


def _run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    """The console script as a user runs it: exit status and stderr."""
    from emily.cli.app import main

    monkeypatch.setattr("sys.argv", ["emily", *argv])
    with pytest.raises(SystemExit) as excinfo:
        main()
    return int(excinfo.value.code or 0), capsys.readouterr().err


def test_er_prior_penalty_is_the_log_odds_against_a_parent() -> None:
    # p = 1 / (6 - 1): each parent costs log(0.8 / 0.2) = log 4
    assert er_edge_penalty(1.0, 6) == pytest.approx(math.log(4.0))
    assert er_edge_penalty(1.5, 4) == pytest.approx(0.0)  # p = 1/2: the uniform prior
    # The penalty is the drop in the Bernoulli(p) log-prior per added edge, whatever the graph.
    p, pairs = 2.0 / 5, 30
    log_prior = [k * math.log(p) + (pairs - k) * math.log(1 - p) for k in range(4)]
    for k in range(3):
        assert log_prior[k] - log_prior[k + 1] == pytest.approx(er_edge_penalty(2.0, 6))
    with pytest.raises(InputError, match=r"at most \(d - 1\) / 2 = 1.5"):
        er_edge_penalty(2.0, 4)
    with pytest.raises(InputError, match="must be > 0"):
        er_edge_penalty(0.0, 4)


def test_train_reads_a_users_csv_and_says_what_it_did(tmp_path: Path) -> None:
    csv_path = _user_csv(tmp_path, d=4)
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv_path), "--steps", "2", "--hidden", "16",
         "--prior", "er", "--alpha-mu", "2", "--max-parents", "2", "--no-track",
         "--out", str(tmp_path / "g.pt"), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["variables"] == ["x0", "x1", "x2", "x3"]  # the index column is not a variable
    assert out["standardized"] is True
    assert out["prior"] == "er"
    assert out["edge_penalty"] == pytest.approx(math.log(2.0))  # p = 1/3
    assert any("row index" in note for note in out["notes"])
    assert any("standardised 4 columns" in note for note in out["notes"])
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv_path), "--steps", "1", "--hidden", "16",
         "--no-standardize", "--prior", "edge", "--edge-penalty", "0.5", "--no-track",
         "--no-progress", "--out", str(tmp_path / "raw.pt")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "standardized: False" in res.output
    assert "kept raw column values" in res.output
    assert "edge_penalty: 0.5" in res.output


def test_bdeu_encodes_string_categories(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rain = rng.choice(["dry", "wet"], size=80)
    grass = np.where(rng.random(80) < 0.8, rain, "dry")
    path = tmp_path / "cat.csv"
    pd.DataFrame({"rain": rain, "grass": grass, "season": rng.choice(["a", "b", "c"], 80)}).to_csv(
        path, index=False
    )
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--score", "bdeu", "--ess", "2", "--data", str(path),
         "--steps", "1", "--hidden", "16", "--no-track", "--out", str(tmp_path / "b.pt"),
         "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["score"] == "bdeu"
    assert "standardized" not in out
    assert any("rain: 0=dry, 1=wet" in note for note in out["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "dag", "--ess", "3"], "--ess is BDeu's"),
        (["--env", "dag", "--edge-penalty", "1"], "add --prior edge"),
        (["--env", "dag", "--expected-parents", "1"], "add --prior er"),
        (["--env", "dag", "--score", "bdeu", "--alpha-w", "9"], "BGe's hyper-parameters"),
        (["--alpha-mu", "2", "--prior", "er"], "--alpha-mu, --prior apply to --env dag only"),
        (["--sampler", "mcmc"], "--sampler apply to --env dag only"),
        (["--env", "dag", "--sampler", "mcmc", "--hidden", "8"], "--hidden apply to GFlowNets"),
        (["--env", "dag", "--chains", "2"], "add --sampler mcmc"),
        (["--env", "dag", "--betas", "1,0.5"], "add --sampler mcmc"),
        (["--env", "dag", "--sampler", "mcmc", "--betas", "1,hot"], "comma-separated numbers"),
        (["--env", "dag", "--sampler", "mcmc", "--betas", "1,0.5,0.7"], "decrease strictly"),
        (["--env", "dag", "--nodes", "3", "--prior", "er", "--expected-parents", "1.5"], "at most"),
    ],
)
def test_flags_that_do_not_fit_are_refused(args: list[str], message: str) -> None:
    res = runner.invoke(app, ["train", "--steps", "1", "--no-track", *args])
    assert res.exit_code != 0
    assert isinstance(res.exception, InputError)
    assert message in str(res.exception)


def test_mcmc_train_then_sample_writes_every_summary(tmp_path: Path) -> None:
    from emily.cognition import posterior

    csv_path = _user_csv(tmp_path)
    chains = tmp_path / "chains.pt"
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv_path), "--sampler", "mcmc", "--steps", "20",
         "--chains", "2", "--no-track", "--out", str(chains), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["sampler"] == "mcmc"
    assert out["samples_kept"] == 1000
    assert 0 < out["acceptance_rate"] <= 1
    truth = posterior.write_adjacency_csv(
        np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["x2", "x1", "x0"], tmp_path / "truth.csv"
    )  # another order of the names: read back by name
    files = {
        "marginals": tmp_path / "m.csv",
        "graphml": tmp_path / "s.graphml",
        "dot": tmp_path / "s.dot",
        "plot": tmp_path / "heat.png",
    }
    res = runner.invoke(
        app,
        ["sample", str(chains), "-n", "300", "--top", "3", "--classes", "--truth", str(truth),
         *[a for k, v in files.items() for a in (f"--{k}", str(v))], "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert got["sampler"] == "mcmc"
    assert got["samples"] == 300
    assert sum(c["count"] for c in got["classes"]) <= 300
    assert 0 <= got["truth"]["expected_shd"] <= 6
    assert got["truth"]["edges"] == 2
    assert got["truth"]["auroc"] is None or 0 <= got["truth"]["auroc"] <= 1
    assert got["marginals"]["columns"] == ["x0", "x1", "x2"]
    assert {k: Path(v) for k, v in got["files"].items()} == files | {
        "plot_top": tmp_path / "heat-top.png"
    }
    names, matrix = posterior.read_matrix_csv(files["marginals"])
    assert names == ["x0", "x1", "x2"]
    np.testing.assert_allclose(matrix, np.array(got["marginals"]["matrix"]), atol=1e-6)
    assert (tmp_path / "heat-top.png").stat().st_size > 5_000
    res = runner.invoke(
        app, ["sample", str(chains), "-n", "50", "--marginals", str(tmp_path / "m.json")]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "m.json").read_text())["columns"] == ["x0", "x1", "x2"]
    assert "most probable edges" in res.output


def test_tempered_mcmc_trains_reports_its_swaps_and_samples_from_its_checkpoint(
    tmp_path: Path,
) -> None:
    csv_path = _user_csv(tmp_path)
    chains = tmp_path / "tempered.pt"
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv_path), "--sampler", "mcmc", "--steps", "200",
         "--chains", "2", "--betas", "1,0.8,0.6", "--no-track", "--out", str(chains), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["betas"] == [1.0, 0.8, 0.6]
    assert len(out["swap_rates"]) == 2
    assert all(0 < rate <= 1 for rate in out["swap_rates"])
    res = runner.invoke(app, ["sample", str(chains), "-n", "40", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["samples"] == 40


def test_gflownet_dag_sample_and_tracked_structure_plots(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from emily.ops.tracking import tracking_config

    csv_path = _user_csv(tmp_path)
    model = tmp_path / "g.pt"
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv_path), "--steps", "2", "--hidden", "16",
         "--out", str(model), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    run_id = json.loads(res.output)["run_id"]
    client = MlflowClient(tracking_config().tracking_uri)
    logged = {a.path for a in client.list_artifacts(run_id, "structure")}
    assert logged == {
        "structure/edge_marginals.csv",
        "structure/edge_marginals.png",
        "structure/top_graphs.png",
    }
    res = runner.invoke(app, ["sample", str(model), "-n", "100", "--classes", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert got["sampler"] == "gflownet+polish(450)"  # by default 150 steps per variable
    assert sum(g["count"] for g in got["top"]) <= 100
    assert all(isinstance(g["log_score"], float) for g in got["top"])
    for flag, sampler in (("20", "gflownet+polish(20)"), ("0", "gflownet")):
        cmd = ["sample", str(model), "-n", "100", "--polish", flag, "--json"]
        res = runner.invoke(app, cmd)
        assert res.exit_code == 0, res.output
        other = json.loads(res.output)
        assert other["sampler"] == sampler
        assert sum(g["count"] for g in other["top"]) <= 100
        assert other["marginals"]["columns"] == got["marginals"]["columns"]


def test_sample_errors_are_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = _user_csv(tmp_path)
    chains = tmp_path / "chains.pt"
    res = runner.invoke(
        app,
        ["train", "--env", "dag", "--data", str(csv_path), "--sampler", "mcmc", "--steps", "5",
         "--no-track", "--out", str(chains)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    bad_shape = tmp_path / "bad.csv"
    bad_shape.write_text(",x0,x1\nx0,0,1\nx1,0,0\n")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(",x0,x1,zz\nx0,0,1,0\nx1,0,0,0\nzz,0,0,0\n")
    cases = [
        (["sample", str(chains), "--truth", str(bad_shape)], "missing ['x2'], unknown []"),
        (["sample", str(chains), "--truth", str(unknown)], "missing ['x2'], unknown ['zz']"),
        (["sample", str(csv_path)], "not a readable checkpoint"),
        (["sample", str(tmp_path / "none.pt")], "no checkpoint at"),
        (["sample", str(chains), "--polish", "10"], "is an MCMC checkpoint"),
        (["train", "--env", "dag", "--data", str(csv_path), "--drop", "nope"], "--drop names"),
    ]
    for argv, message in cases:
        code, err = _run_main(argv, monkeypatch, capsys)
        assert code == 2, (argv, err)
        assert message in err, (argv, err)
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) <= 3  # one line, soft-wrapped at most


def test_dag_summaries_of_a_hypergrid_model_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "grid.pt"
    res = runner.invoke(
        app,
        ["train", "--steps", "1", "--ndim", "2", "--height", "3", "--hidden", "8", "--no-track",
         "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["sample", str(out), "-n", "10", "--marginals", str(tmp_path / "m")])
    assert isinstance(res.exception, InputError)
    assert "--marginals need DAG samples" in str(res.exception)
    res = runner.invoke(app, ["sample", str(out), "-n", "10", "--polish", "5"])
    assert isinstance(res.exception, InputError)
    assert "--polish applies to DAG models" in str(res.exception)
