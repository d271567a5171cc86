"""The installed ``emily`` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def _emily(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("emily", path=str(Path(sys.executable).parent))
    assert executable is not None, "the emily console script is not installed in this venv"
    return subprocess.run(
        [executable, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_help_and_version() -> None:
    result = _emily("--help")
    assert result.returncode == 0
    assert "doctor" in result.stdout
    assert "emily-sovereign" in _emily("version").stdout


def test_doctor_unwritable_home_exits_nonzero_with_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _emily("doctor", "--json", env={"EMILY_HOME": str(blocker / "home")})
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    home = next(c for c in payload["checks"] if c["name"] == "home")
    assert home["ok"] is False
    assert "EMILY_HOME" in home["fix"]


def test_python_dash_m_works_too() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emily", "version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "emily-sovereign" in result.stdout
