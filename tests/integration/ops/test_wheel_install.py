"""A wheel, installed into a fresh venv outside the clone, works from any folder.

Builds the wheel from a copy of ``src/`` (so the clone gets no ``build/`` or ``*.egg-info``),
installs it with ``--no-deps`` into a new venv whose only view of the dependencies is a ``.pth``
line naming this environment's ``site-packages`` (nothing is downloaded, and the editable
install's own ``.pth`` is not processed from there, so the clone's ``src`` cannot shadow the
wheel), then runs the CLI with its working folder and ``EMILY_HOME`` in a temporary folder:
every file a command needs must come from the installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_S = 600  # generous: a loaded 2-core machine


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-q", "-w", str(root / "dist"), str(source)], cwd=root)  # fmt: skip
    (wheel,) = (root / "dist").glob("emily_sovereign-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=root,
        ).strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_emily_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)], cwd=root)  # fmt: skip
    where = _run([str(python), "-c", "import emily; print(emily.__file__)"], cwd=root).strip()
    assert Path(where).is_relative_to(venv), f"emily imported from {where}, not from the wheel"
    return venv / "bin"


@pytest.fixture
def env(installed: Path, tmp_path: Path) -> dict[str, str]:
    """A user's shell: the venv first on PATH, EMILY_HOME in the working folder, no clone."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EMILY_", "VIRTUAL_ENV"))}
    base.pop("PYTHONPATH", None)
    return base | {
        "PATH": f"{installed}{os.pathsep}{os.environ.get('PATH', '')}",
        "EMILY_HOME": str(tmp_path / "home"),
    }


def test_wheel_inits_migrates_trains_and_registers(
    installed: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    emily = str(installed / "emily")
    home = tmp_path / "home"
    assert "wrote" in _run([emily, "init"], cwd=tmp_path, env=env)
    assert (home / "model_cards" / "emily-gflownet.yaml").is_file()
    assert "applied: 001, 002" in _run([emily, "migrate", "up"], cwd=tmp_path, env=env)
    out = _run([emily, "train", "--steps", "20", "--no-progress", "--json",
                "--register", "emily-gflownet"], cwd=tmp_path, env=env)  # fmt: skip
    assert json.loads(out.splitlines()[-1])["registered"] == "emily-gflownet v1"
    assert not (tmp_path / "model_cards").exists()  # nothing came from, or went to, the cwd


def _feast_venv() -> Path:
    """The isolated Feast environment, made by the project's own script when missing."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup_feast.sh")], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"scripts/setup_feast.sh failed; run it by hand to see why:\n{proc.stderr}")
    return Path(os.environ.get("EMILY_FEAST_VENV", REPO / ".venv-feast"))


def test_wheel_materializes_features(installed: Path, tmp_path: Path, env: dict[str, str]) -> None:
    feast = _feast_venv()
    emily = str(installed / "emily")
    source = tmp_path / "alpha_features.parquet"
    pd.DataFrame({
        "episode_id": ["ep_000000", "ep_000001"],
        "event_timestamp": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]),
        "alpha_power": [1.0, 2.0], "alpha_phase": [0.1, 0.2], "attention_score": [0.5, 0.6],
    }).to_parquet(source)  # fmt: skip
    env = env | {"EMILY_FEAST_VENV": str(feast)}
    _run([emily, "init"], cwd=tmp_path, env=env)
    out = _run([emily, "features", "materialize", "--source", str(source),
                "--start", "2025-12-31T00:00:00+00:00", "--end", "2026-01-02T00:00:00+00:00",
                "--json"], cwd=tmp_path, env=env)  # fmt: skip
    assert json.loads(out.splitlines()[-1])["online_store"] == "sqlite"
    got = _run([emily, "features", "get", "ep_000001", "--json"], cwd=tmp_path, env=env)
    assert json.loads(got.splitlines()[-1])[0]["alpha_power"] == pytest.approx(2.0)
