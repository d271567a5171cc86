"""The research loop as a user runs it: emily train → models promote → emily run uses the model.

Real subprocesses of the installed console script, MLflow on its embedded SQLite store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _emily(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("emily", path=str(Path(sys.executable).parent))
    assert executable is not None, "the emily console script is not installed in this venv"
    result = subprocess.run(
        [executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,  # model_cards/ is found from here, as from a clone
        env={**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"},
        timeout=300,
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
    assert "cognition: variant v1 from scratch (no emily-gflownet@champion registered)" in before

    _emily("models", "promote", "emily-gflownet", "1", "--why", "first demo model")
    after = _emily("run", "--demo", "--limit", "60", "--rate", "200", "--no-live").stdout
    assert "cognition: emily-gflownet v1 (v1) (emily-gflownet@champion)" in after

    history = json.loads(_emily("models", "history", "emily-gflownet", "--json").stdout)
    assert [(d["what"], d["version"], d["why"]) for d in history] == [
        ("register", "1", "emily train"),
        ("promote", "1", "first demo model"),
    ]
