"""``dvc repro`` of the real dvc.yaml in a temporary git repository, with a local remote.

Checks the lineage contract of issue 9: a first repro runs prepare -> train -> evaluate; a
parameter change re-runs only the stages that depend on it; outputs push to the default local
remote and pull back after the cache and workspace copies are gone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
STAGES = ("prepare", "train", "evaluate")
SOURCES = [
    "src/emily/ops/lineage/_params.py",
    "src/emily/ops/lineage/prepare.py",
    "src/emily/ops/lineage/train.py",
    "src/emily/ops/lineage/evaluate.py",
    "src/emily/nervous_system/_alpha.py",
    "src/emily/cognition/gflownet.py",
    "src/emily/cognition/envs/dag.py",
    "src/emily/cognition/scores.py",
    "src/emily/cognition/exact.py",
]


def _dvc_bin() -> Path:
    dvc = Path(REPO / ".venv" / "bin" / "dvc")
    if not dvc.is_file():
        pytest.fail("dvc is not installed in .venv: run `.venv/bin/pip install dvc==3.67.1`")
    return dvc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch git repo holding dvc.yaml, tiny params, the DVC config and stage sources."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    shutil.copy(REPO / "dvc.yaml", root)
    shutil.copytree(REPO / ".dvc", root / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    for source in SOURCES:
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / source, root / source)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"].update(episodes=24, samples_per_episode=16)
    params["train"].update(steps=3, hidden=8, hypotheses=10, batch_size=4)
    params["evaluate"].update(samples=20)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def _dvc(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
    }
    proc = subprocess.run(
        [str(_dvc_bin()), *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _ran(output: str) -> set[str]:
    return {s for s in STAGES if f"Running stage '{s}'" in output}


def _set_param(root: Path, section: str, key: str, value: int) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params[section][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def test_repro_reruns_only_dependent_stages(project: Path) -> None:
    assert _ran(_dvc(project, "repro")) == set(STAGES)
    assert (project / "dvc.lock").is_file()
    assert "up to date" in _dvc(project, "status")
    assert _ran(_dvc(project, "repro")) == set()  # nothing changed, nothing runs

    _set_param(project, "evaluate", "samples", 30)
    assert _ran(_dvc(project, "repro")) == {"evaluate"}

    _set_param(project, "train", "steps", 4)
    status = _dvc(project, "status")
    assert "train:" in status
    assert "prepare:" not in status
    assert _ran(_dvc(project, "repro")) == {"train", "evaluate"}
    assert "lineage/metrics/evaluate.json" in _dvc(project, "metrics", "show")

    # a code change (not a parameter) is lineage too: editing the trainer re-runs train;
    # evaluate follows only if the model's bytes changed (a seeded run reproduces them)
    trainer = project / "src/emily/ops/lineage/train.py"
    trainer.write_text(trainer.read_text() + "\n# edited\n")
    ran = _ran(_dvc(project, "repro"))
    assert "train" in ran
    assert "prepare" not in ran


def test_push_and_pull_through_local_remote(project: Path) -> None:
    _dvc(project, "repro")
    assert "pushed" in _dvc(project, "push")
    remote = project / ".emily" / "dvc-remote"
    assert any(p.is_file() for p in remote.rglob("*")), "the local remote stayed empty"

    shutil.rmtree(project / ".dvc" / "cache")
    (project / "lineage" / "models" / "gflownet.pt").unlink()
    (project / "lineage" / "data" / "alpha_features.parquet").unlink()
    _dvc(project, "pull")
    assert (project / "lineage" / "models" / "gflownet.pt").is_file()
    assert (project / "lineage" / "data" / "alpha_features.parquet").is_file()
    assert "up to date" in _dvc(project, "status")
