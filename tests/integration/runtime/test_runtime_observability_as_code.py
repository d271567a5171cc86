"""Observability as code, checked by the real tools: promtool and amtool (Debian packages)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
INFRA = ROOT / "infra"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: `bash scripts/setup.sh test` installs it (apt-get)")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)


def test_alert_rules_are_valid() -> None:
    result = _run(
        _tool("promtool"), "check", "rules", str(INFRA / "prometheus/rules/emily.rules.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_unit_tests_pass() -> None:
    result = _run(
        _tool("promtool"), "test", "rules", str(INFRA / "prometheus/tests/emily.rules.test.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_alertmanager_config_is_valid() -> None:
    result = _run(_tool("amtool"), "check-config", str(INFRA / "alertmanager/alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "webhook" in (INFRA / "alertmanager/alertmanager.yml").read_text()
