"""``emily doctor`` against the real servers this machine runs (PostgreSQL, Redis)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from emily.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("variable", "url", "check"),
    [
        ("EMILY_MLFLOW_URI", "postgresql://127.0.0.1:5432/test", "engine:mlflow"),
        ("EMILY_REDIS_URL", "redis://127.0.0.1:6379/0", "engine:redis"),
        ("EMILY_FALKORDB_URL", "redis://127.0.0.1:6379", "engine:falkordb"),
    ],
)
def test_doctor_sees_running_servers(
    monkeypatch: pytest.MonkeyPatch, variable: str, url: str, check: str
) -> None:
    monkeypatch.setenv(variable, url)
    result = runner.invoke(app, ["doctor", "--json"])
    found = next(c for c in json.loads(result.output)["checks"] if c["name"] == check)
    assert found["ok"] is True, (
        f"{found['detail']}: is the local server running? (CI starts PostgreSQL and Redis)"
    )
    assert result.exit_code == 0
