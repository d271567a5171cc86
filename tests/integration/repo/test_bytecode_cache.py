"""The suite lets Python cache bytecode, and ``benchmarks/bytecode_cache.py`` says what that buys.

Why it matters: with ``PYTHONDONTWRITEBYTECODE`` set (this machine's environment sets it) and a
venv installed without compiling, every process the suite starts compiled torch, MLflow and
pandas again. ``tests/conftest.py`` and ``scripts/test.sh`` switch the cache on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_suite_and_its_children_may_write_bytecode() -> None:
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ
    assert sys.dont_write_bytecode is False
    child = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.dont_write_bytecode)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert child.stdout.strip() == "False"


def test_the_benchmark_prints_both_conditions_last() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bytecode_cache.py"), "--modules",
         "json,email.parser", "--runs", "1", "--json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "bytecode_cache"
    assert figures["modules"] == ["json", "email.parser"]
    assert figures["import_cpu_s_no_cache_median"] > 0
    assert figures["import_cpu_s_cached_median"] > 0
    ratio = figures["import_cpu_s_no_cache_median"] / figures["import_cpu_s_cached_median"]
    assert abs(figures["no_cache_over_cached"] - ratio) < 1e-9


def test_the_benchmark_refuses_an_empty_module_name() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bytecode_cache.py"), "--modules", "json,"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--modules must name modules" in result.stderr
