"""The research loop as a user runs it: emily train → models promote → emily run uses the model.

Each command in a process of its own (the console script's entry point, forked warm by
``_support.cli.run_emily``; ``test_e2e_console_script`` runs the installed script itself), MLflow
on its embedded SQLite store.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from _support.cli import run_emily

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _emily(*args: str) -> subprocess.CompletedProcess[str]:
    result = run_emily(
        args,
        cwd=REPO,  # model_cards/ is found from here, as from a clone
        env={**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_train_register_promote_then_run_uses_the_champion(tmp_path: Path) -> None:
    trained = json.loads(
        _emily(
            "train", "--env", "dag", "--demo", "--steps", "40", "--json",
            "--out", str(tmp_path / "g.pt"), "--register", "emily-gflownet",
        ).stdout.splitlines()[-1]
    )  # fmt: skip
    assert trained["registered"] == "emily-gflownet v1"
    assert trained["model_uri"] == f"runs:/{trained['run_id']}/model"

    before = _emily("run", "--demo", "--limit", "60", "--rate", "200", "--no-live").stdout
    no_model = "cognition: structure MCMC (no training) (no emily-gflownet@champion registered)"
    assert no_model in before

    _emily("models", "promote", "emily-gflownet", "1", "--why", "first demo model")
    after = _emily("run", "--demo", "--limit", "60", "--rate", "200", "--no-live").stdout
    assert "cognition: emily-gflownet v1 (dag) (emily-gflownet@champion)" in after

    history = json.loads(_emily("models", "history", "emily-gflownet", "--json").stdout)
    assert [(d["what"], d["version"], d["why"]) for d in history] == [
        ("register", "1", "emily train"),
        ("promote", "1", "first demo model"),
    ]


def test_the_runtime_cognition_follows_promotions_and_rollbacks(tmp_path: Path) -> None:
    """In-process: the loader picks the version holding @champion, and cognition starts from it."""
    import torch
    from typer.testing import CliRunner

    from emily.cli.app import app
    from emily.cognition import BGeScore, DAGHypotheses, GFlowNet
    from emily.core import ManualClock
    from emily.core.settings import load_settings
    from emily.runtime.builder import DEMO_FEATURES
    from emily.runtime.champion import choose_cognition
    from emily.runtime.stimuli import demo_dataset, demo_stream
    from emily.runtime.structure import CausalStructureSource

    def ok(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
        return result.output

    card = str(REPO / "model_cards" / "emily-gflownet.yaml")
    for seed in ("0", "1"):
        out = str(tmp_path / f"g{seed}.pt")
        ok("train", "--env", "dag", "--demo", "--steps", "15", "--seed", seed, "--json",
           "--out", out, "--register", "emily-gflownet", "--card", card)  # fmt: skip
    ok("models", "promote", "emily-gflownet", "1", "--why", "first")
    ok("models", "promote", "emily-gflownet", "2", "--why", "second seed looks better")

    settings, clock = load_settings(), ManualClock()
    choice = choose_cognition(settings, DEMO_FEATURES, clock)
    assert choice.model is not None
    assert (choice.model.version, choice.reason) == ("2", "emily-gflownet@champion")
    source = CausalStructureSource(DEMO_FEATURES, model=choice.model, train_steps=3, samples=64)
    assert source.starts_from == "emily-gflownet v2 (dag)"  # train's DAG default
    window = list(demo_stream(demo_dataset(), limit=40))
    table = source._table(window)
    started = source.start(DAGHypotheses(BGeScore(table)))
    trained = {seed: GFlowNet.load(tmp_path / f"g{seed}.pt") for seed in ("0", "1")}
    assert torch.equal(started.log_z, trained["1"].log_z)  # v2 is the seed-1 run
    assert not torch.equal(started.log_z, trained["0"].log_z)
    batch = source.hypothesise(window)
    assert batch.hypotheses
    assert sum(h.share for h in batch.hypotheses) <= 1.0

    ok("models", "rollback", "emily-gflownet", "--why", "v2 misbehaved in production")
    back = choose_cognition(settings, DEMO_FEATURES, clock)
    assert back.model is not None
    assert back.model.version == "1"
