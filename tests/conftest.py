"""Suite-wide test set-up: layer markers from folders, an isolated EMILY_HOME per test, and the
package built as a wheel into a venv outside the clone (for the tests of an installed user)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

# Prefect reads its settings once, at import: quiet, offline and with its own home for the whole
# session (a per-test home would be too late for any module that imported prefect earlier). Each
# pytest-xdist worker gets its own: workers inherit the controller's environment, and two
# processes on one Prefect SQLite database lock each other out.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"emily-prefect-{XDIST_WORKER}-")
else:
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="emily-prefect-"))
os.environ.update(
    PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING"
)
# The ingest sets this too (emily.memory.etl), but only before Prefect is imported; in the suite
# another test imported it first, and the 20 s default fails ingests on a loaded machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

# Bytecode caches on, for this process and its children, when pytest is run directly (the
# README's command unsets it in scripts/test.sh): under PYTHONDONTWRITEBYTECODE every CLI call,
# DVC stage and server the suite starts compiled torch, MLflow and pandas again
# (benchmarks/bytecode_cache.py).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# One OpenMP thread per process unless told otherwise, set before anything imports torch: the
# suite runs a worker per core, besides the servers and CLI calls they start, and torch's OpenMP
# threads spin while they wait for work. Two copies of test_cognition_correction_exact.py side by
# side on the 2-core machine took 108 CPU s each with torch's default threads and 13 with one
# (alone: 17 and 14).
os.environ.setdefault("OMP_NUM_THREADS", "1")

LAYERS = ("unit", "property", "integration", "contract", "e2e", "chaos", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its layer (the folder under tests/), so `-m unit` etc. select layers;
    then put the files that hold a ``slow`` test first.

    Why the order: the suite runs files whole on pytest-xdist workers (``--dist loadfile``), each
    taken in collection order, so a minute-long file collected last runs alone at the end while
    the other workers idle. Longest first leaves the short files to fill in. Tests keep their
    order within a file.
    """
    for item in items:
        parts = Path(str(item.fspath)).parts
        for layer in LAYERS:
            if layer in parts:
                item.add_marker(getattr(pytest.mark, layer))
                break
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: file order otherwise kept


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own EMILY_HOME and no stray emily.toml, so none touches real state."""
    home = tmp_path / "emily-home"
    monkeypatch.setenv("EMILY_HOME", str(home))
    monkeypatch.setenv("EMILY_CONFIG", str(tmp_path / "no-emily.toml"))
    return home


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built once per run with ``mkdocs build --strict``.

    ``scripts/test.sh`` builds it from this tree just before pytest and passes the folder in
    ``EMILY_DOCS_SITE``, so ``make test`` builds the site once; alone, pytest builds it the first
    time a test asks (a strict build fails on any warning, so the fixture fails the same way).
    """
    given = os.environ.get("EMILY_DOCS_SITE")
    if given and (Path(given) / "index.html").is_file():
        return Path(given)
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}")
    return site


def _run_checked(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``; fail the test with its output unless it exits 0; return its stdout."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )  # 600 s: generous, for a loaded 2-core machine
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


@pytest.fixture(scope="session")
def wheel_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv outside the clone with the package's wheel installed.

    Builds the wheel from a copy of ``src/`` (so the clone gets no ``build/`` or
    ``*.egg-info``), installs it with ``--no-deps`` into a new venv whose only view of the
    dependencies is a ``.pth`` line naming this environment's ``site-packages`` (nothing is
    downloaded, and the editable install's own ``.pth`` is not processed from there, so the
    clone's ``src`` cannot shadow the wheel). Built once per session: several tests act as a
    user of the installed package. Under pytest-xdist the workers share one build: the first
    to ask builds it under a file lock in the run's common temporary folder, the others wait
    for it and reuse it.
    """
    shared = tmp_path_factory.getbasetemp()
    if XDIST_WORKER:
        shared = shared.parent  # the run's folder; each worker's basetemp is one below it
    root = shared / "wheel-shared"
    with FileLock(str(shared / "wheel-shared.lock")):
        ready = root / "ready"
        if not ready.exists():
            shutil.rmtree(root, ignore_errors=True)  # a build that failed half way
            root.mkdir()
            _build_wheel_venv(root)
            ready.touch()
    return root / "venv" / "bin"


def _build_wheel_venv(root: Path) -> None:
    """Build the wheel from a copy of ``src/`` into ``root`` and install it in ``root/venv``."""
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    _run_checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-q", "-w", str(root / "dist"), str(source)], cwd=root)  # fmt: skip
    (wheel,) = (root / "dist").glob("emily_sovereign-*.whl")
    venv = root / "venv"
    _run_checked([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    python = str(venv / "bin" / "python")
    purelib = Path(
        _run_checked(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root
        ).strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_emily_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _run_checked([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                  "--no-index", "-q", str(wheel)], cwd=root)  # fmt: skip
    where = _run_checked([python, "-c", "import emily; print(emily.__file__)"], cwd=root).strip()
    assert Path(where).is_relative_to(venv), f"emily imported from {where}, not from the wheel"


@dataclass(frozen=True)
class WheelUser:
    """A user of the installed wheel: its venv first on PATH, a home and a working folder of
    their own, no clone anywhere in sight."""

    bin: Path
    cwd: Path
    env: dict[str, str]

    @property
    def home(self) -> Path:
        return Path(self.env["EMILY_HOME"])

    def run(self, program: str, *args: str) -> str:
        """Run one of the venv's programs (``emily``, ``python``); stdout, or fail the test."""
        return _run_checked([str(self.bin / program), *args], cwd=self.cwd, env=self.env)

    def emily(self, *args: str) -> str:
        return self.run("emily", *args)


@pytest.fixture
def wheel_user(wheel_bin: Path, tmp_path: Path) -> WheelUser:
    """A fresh user of the installed wheel, working in ``tmp_path`` with ``tmp_path/home``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EMILY_", "VIRTUAL_ENV"))}
    base.pop("PYTHONPATH", None)
    env = base | {
        "PATH": f"{wheel_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "EMILY_HOME": str(tmp_path / "home"),
        "MPLBACKEND": "Agg",
        "COLUMNS": "200",
    }
    return WheelUser(bin=wheel_bin, cwd=tmp_path, env=env)
