"""``dvc repro`` of the real dvc.yaml in a temporary git repository, with a local remote.

Checks the lineage contract of issue 9: a first repro runs prepare -> train -> evaluate; a
parameter change re-runs only the stages that depend on it; outputs push to the default local
remote and pull back after the cache and workspace copies are gone; every ``emily`` module a
stage loads while ``dvc repro`` runs it lies under one of that stage's ``dvc.yaml`` deps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
STAGES = ("prepare", "train", "evaluate")
PIPELINE = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _code_deps(stage: str) -> list[str]:
    """The code a stage declares it depends on: its ``dvc.yaml`` deps under ``src/``."""
    return [d for d in PIPELINE[stage].get("deps", []) if d.startswith("src/")]


SOURCES = sorted({dep for stage in STAGES for dep in _code_deps(stage)})
"""Every code dep of the pipeline, read from dvc.yaml (not a second hand-kept list)."""


def _dvc_bin() -> Path:
    dvc = Path(REPO / ".venv" / "bin" / "dvc")
    if not dvc.is_file():
        pytest.fail("dvc is not installed in .venv: run `.venv/bin/pip install dvc==3.67.1`")
    return dvc


_NOT_CODE = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch git repo holding dvc.yaml, tiny params, the DVC config and stage sources."""
    return _make_project(tmp_path / "repo")


class FirstRepro(NamedTuple):
    root: Path
    output: str
    """What ``dvc repro`` printed."""
    probed: Path
    """The probe's records of the modules each stage's process loaded (:data:`_PROBE`)."""
    home: Path
    """The EMILY_HOME its train stage tracked into (MLflow's database, made once)."""


@pytest.fixture(scope="module")
def first_repro(tmp_path_factory: pytest.TempPathFactory) -> FirstRepro:
    """A project after its first ``dvc repro``: made once, since every stage starts torch and
    MLflow (tests work on copies, :func:`reproduced`). Its stages run with a probe
    (:data:`_PROBE`) that records the modules each one loaded, for
    :func:`test_stages_depend_on_the_code_they_run`."""
    root = _make_project(tmp_path_factory.mktemp("first-repro") / "repo")
    home = tmp_path_factory.mktemp("emily-home")
    probe = tmp_path_factory.mktemp("probe")
    (probe / "sitecustomize.py").write_text(_PROBE)
    (probe / "records").mkdir()
    path = os.pathsep.join(filter(None, [str(probe), os.environ.get("PYTHONPATH")]))
    env = {"EMILY_HOME": str(home), "PYTHONPATH": path, "EMILY_TEST_PROBE": str(probe / "records")}
    output = _dvc(root, "repro", env=env)
    return FirstRepro(root, output, probe / "records", home)


@pytest.fixture
def reproduced(
    first_repro: FirstRepro, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A copy of the reproduced project (its git repo, DVC cache and outputs; not DVC's own
    ``.dvc/tmp`` state, keyed by the original files' inodes), and the first repro's output.
    Its stages track into the first repro's EMILY_HOME (no second MLflow database to create)."""
    root = tmp_path / "repo"
    shutil.copytree(first_repro.root, root, symlinks=True, ignore=_dvc_state)
    monkeypatch.setenv("EMILY_HOME", str(first_repro.home))
    return root, first_repro.output


def _dvc_state(folder: str, _names: list[str]) -> list[str]:
    return ["tmp"] if Path(folder).name == ".dvc" else []


def _make_project(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    shutil.copy(REPO / "dvc.yaml", root)
    shutil.copytree(REPO / ".dvc", root / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    shutil.copy(REPO / ".dvcignore", root)
    for source in SOURCES:
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, root / source, ignore=_NOT_CODE)
        else:
            shutil.copy(REPO / source, root / source)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"].update(episodes=24, samples_per_episode=16)
    params["train"].update(steps=3, hidden=8, hypotheses=10, batch_size=4)
    params["evaluate"].update(samples=20)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def _dvc(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    env = {
        **os.environ,
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        [str(_dvc_bin()), *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _stale(root: Path) -> set[str]:
    """Stages ``dvc status`` reports as changed (a stage line is ``name:`` at column 0)."""
    return {line[:-1] for line in _dvc(root, "status").splitlines() if line[:-1] in STAGES}


def _ran(output: str) -> set[str]:
    return {s for s in STAGES if f"Running stage '{s}'" in output}


def _set_param(root: Path, section: str, key: str, value: int) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params[section][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def test_repro_reruns_only_dependent_stages(reproduced: tuple[Path, str]) -> None:
    project, first = reproduced
    assert _ran(first) == set(STAGES)
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

    # a code change (not a parameter) is lineage too: editing code only train runs (the
    # tracking package) re-runs train; evaluate follows only if the model's bytes changed (a
    # seeded run reproduces them). The stage scripts share one package folder, src/emily/ops/
    # lineage, which every stage depends on: editing any of them re-runs the whole pipeline.
    trainer = project / "src/emily/ops/tracking/_tracker.py"
    trainer.write_text(trainer.read_text() + "\n# edited\n")
    ran = _ran(_dvc(project, "repro"))
    assert "train" in ran
    assert "prepare" not in ran


def test_push_and_pull_through_local_remote(reproduced: tuple[Path, str]) -> None:
    project, _ = reproduced
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


def test_changing_a_loss_marks_train_stale(project: Path) -> None:
    """The loss is code ``train`` runs: editing it must make ``dvc status`` re-run training.

    The outputs are stand-ins committed with ``dvc commit`` (no training needed): what is under
    test is which stages DVC considers changed, computed from the real dvc.yaml.
    """
    for stage in STAGES:
        for out in PIPELINE[stage].get("outs", []) + PIPELINE[stage].get("metrics", []):
            path = project / (next(iter(out)) if isinstance(out, dict) else str(out))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}\n")
    loss = project / "src/emily/cognition/losses.py"
    if not loss.exists():  # a dvc.yaml that does not list it: copy it all the same
        loss.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "src/emily/cognition/losses.py", loss)
    _dvc(project, "commit", "--force")
    assert _stale(project) == set()

    loss.write_text(loss.read_text() + "\n# a changed objective\n")
    stale = _stale(project)
    assert {"train", "evaluate"} <= stale
    assert "prepare" not in stale, stale


def _stage_module(stage: str) -> str:
    """``emily.ops.lineage.train`` from the stage's ``cmd: python -m emily.ops.lineage.train``."""
    words = str(PIPELINE[stage]["cmd"]).split()
    assert words[:2] == ["python", "-m"], f"stage {stage}: expected `python -m MODULE`"
    return words[2]


_PROBE = """
import atexit, os, sys

def _record():  # registered first, so it runs last: imports made by other exit hooks count
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)  # `python -m MODULE` only
    if spec is None:
        return
    records = os.environ["EMILY_TEST_PROBE"]
    with open(os.path.join(records, f"{spec.name} {os.getpid()}"), "w") as out:
        for module in list(sys.modules.values()):
            print(getattr(module, "__file__", None) or "", file=out)

atexit.register(_record)
"""
"""``sitecustomize`` on the first repro's PYTHONPATH: every ``python -m MODULE`` process that DVC
starts writes, as it exits, the files of all the modules it loaded to ``MODULE PID``."""


def _loaded(records: Path, stage: str) -> list[Path]:
    """The files of the modules ``stage``'s process loaded, from the probe's one record of it."""
    runs = sorted(records.glob(f"{_stage_module(stage)} *"))
    assert len(runs) == 1, f"stage {stage}: expected one probed run, found {runs}"
    return [Path(line).resolve() for line in runs[0].read_text().splitlines() if line]


def test_stages_depend_on_the_code_they_run(first_repro: FirstRepro) -> None:
    """Every ``emily`` file a stage loaded while the first ``dvc repro`` ran it (imports made
    while it ran included) lies under one of its ``dvc.yaml`` deps."""
    src = (REPO / "src").resolve()
    for stage in STAGES:
        loaded = _loaded(first_repro.probed, stage)
        ours = sorted(
            path.relative_to(src.parent).as_posix() for path in loaded if path.is_relative_to(src)
        )
        assert f"src/emily/ops/lineage/{stage}.py" in ours, ours  # the probe sees the stage
        deps = _code_deps(stage)
        uncovered = [p for p in ours if not any(p == d or p.startswith(d + "/") for d in deps)]
        assert not uncovered, f"stage {stage} runs code dvc.yaml does not list: {uncovered}"
