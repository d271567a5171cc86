"""The two house-rule checks must catch what they exist to catch, and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def _run(script: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def _write(root: Path, relative: str, source: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    "source",
    [
        "from pydantic import BaseModel\nclass Bad(BaseModel):\n    x: int\n",
        "import pydantic\nclass Bad(pydantic.BaseModel):\n    x: int\n",
        "from pydantic import BaseModel as BM\nclass Bad(BM):\n    x: int\n",
        "import pydantic as pd\nclass Bad(pd.BaseModel):\n    x: int\n",
    ],
)
def test_plain_basemodel_is_rejected(tmp_path: Path, source: str) -> None:
    bad = _write(tmp_path, "src/emily/instinct/bad.py", source)
    result = _run("check_sovereign_models.py", bad)
    assert result.returncode == 1
    assert "class Bad subclasses pydantic.BaseModel" in result.stderr


def test_sovereign_model_and_core_are_accepted(tmp_path: Path) -> None:
    good = _write(
        tmp_path,
        "src/emily/instinct/good.py",
        "from emily.core import SovereignModel\nclass Good(SovereignModel):\n    x: int\n",
    )
    core = _write(
        tmp_path,
        "src/emily/core/models.py",
        "from pydantic import BaseModel\nclass SovereignModel(BaseModel):\n    pass\n",
    )
    result = _run("check_sovereign_models.py", good, core)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("source", "reported"),
    [
        ("import time\nx = time.time()\n", "time.time"),
        ("import time as t\nx = t.perf_counter()\n", "time.perf_counter"),
        ("from time import monotonic\nx = monotonic()\n", "time.monotonic"),
        ("from datetime import datetime\nx = datetime.now()\n", "datetime.datetime.now"),
        ("from datetime import date\nx = date.today()\n", "datetime.date.today"),
        ("import datetime\nx = datetime.datetime.utcnow()\n", "datetime.datetime.utcnow"),
    ],
)
def test_direct_clock_reads_are_rejected(tmp_path: Path, source: str, reported: str) -> None:
    bad = _write(tmp_path, "src/emily/nervous_system/bad.py", source)
    result = _run("check_temporal_lock.py", bad)
    assert result.returncode == 1
    assert f"direct clock read {reported}()" in result.stderr


def test_clock_module_and_clean_code_are_accepted(tmp_path: Path) -> None:
    clock = _write(tmp_path, "src/emily/core/clock.py", "import time\nx = time.time()\n")
    clean = _write(
        tmp_path,
        "src/emily/runtime/ok.py",
        "import time\nfrom datetime import datetime, timedelta\n"
        "time.sleep(0)\nd = datetime(2026, 1, 1) + timedelta(1)\n# time.time() in a comment\n",
    )
    result = _run("check_temporal_lock.py", clock, clean)
    assert result.returncode == 0, result.stderr


def test_the_project_itself_passes_both_checks() -> None:
    src = SCRIPTS.parent / "src"
    for script in ("check_sovereign_models.py", "check_temporal_lock.py"):
        result = _run(script, src)
        assert result.returncode == 0, result.stderr
