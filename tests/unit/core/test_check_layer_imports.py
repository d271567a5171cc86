"""``scripts/check_layer_imports.py``: a layer's modules are reached from outside it only
through its package, and nothing else is reported."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def checker(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as a module (in process: the unit layer starts no interpreter)."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    return importlib.import_module("check_layer_imports")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def write_file(relative: str, source: str) -> Path:
        path = tmp_path / "src" / "emily" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return path

    return write_file


def _run(checker: ModuleType, root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = checker.run([str(root)], [], checker.check, "layer imports")
    return status, capsys.readouterr().err


def test_reaching_into_another_layer_is_reported_with_the_expected_form(
    checker: ModuleType,
    write: Callable[[str, str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write("cognition/posterior.py", "")
    cli = write(
        "cli/run.py",
        "from emily.memory.stores import open_memory\ndef f():\n    import emily.runtime.bus\n",
    )
    runtime = write("runtime/structure.py", "from emily.cognition import posterior\n")
    knowledge = write(
        "ops/knowledge/_report.py",
        "from emily.ops.backup._restore_record import describe\n"
        "from ..tracking._config import make_client\n",
    )

    status, err = _run(checker, tmp_path, capsys)

    assert status == 1
    lines = err.splitlines()
    assert lines[-1] == "5 violation(s) of the layer imports rule"
    assert any(
        line.startswith(f"{cli}:1: ") and "expected `from emily.memory import open_memory`" in line
        for line in lines
    )
    assert any(line.startswith(f"{cli}:3: ") and "emily.runtime.bus" in line for line in lines)
    assert any(
        line.startswith(f"{runtime}:1: ") and "module emily.cognition.posterior" in line
        for line in lines
    )
    assert any(
        line.startswith(f"{knowledge}:1: ")
        and "expected `from emily.ops.backup import describe`" in line
        for line in lines
    )
    assert any(  # a relative import is resolved before it is judged
        line.startswith(f"{knowledge}:2: ")
        and "expected `from emily.ops.tracking import make_client`" in line
        for line in lines
    )


def test_package_imports_own_layer_core_and_migrations_are_accepted(
    checker: ModuleType,
    write: Callable[[str, str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write("memory/episodic.py", "")
    write("memory/stores.py", "from emily.memory.episodic import open_episodic\n")
    write("memory/__init__.py", "from emily.memory.stores import open_memory\n")
    write(
        "cli/memory.py",
        "from emily.memory import open_memory\n"
        "from emily.cognition import StructureMCMC\n"
        "from emily.core.settings import load_settings\n"
        "from emily.cli._run_view import RunView\n",
    )
    write("ops/backup/_service.py", "from ._restore_record import describe\n")
    write("ops/doctor.py", "from emily.ops import _probes\n")
    write("_data/migrations/001_x.py", "from emily.memory._lance import lance_uri\n")

    assert _run(checker, tmp_path, capsys) == (0, "")


def test_the_project_itself_passes(checker: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(checker, REPO / "src", capsys) == (0, "")
