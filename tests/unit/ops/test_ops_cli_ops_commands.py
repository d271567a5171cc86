"""``emily flags`` and ``emily ui`` wiring (the models commands run in the integration layer)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from emily.cli import ops_commands
from emily.core import InputError
from emily.ops.tracking import TrackingConfig

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    ops_commands.register_ops_commands(app)
    return app


def _ok(app: typer.Typer, *args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_flags_list_set_and_malformed_file(app: typer.Typer) -> None:
    assert "enable_gflownet_v2" in _ok(app, "flags", "list")
    assert "on to 10 %" in _ok(app, "flags", "set", "enable_gflownet_v2", "on", "--percent", "10")
    listed = json.loads(_ok(app, "flags", "list", "--json"))
    assert listed["flags"]["enable_gflownet_v2"]["rollout"] == {"variant": "on", "percent": 10.0}
    assert listed["error"] is None
    assert "default on" in _ok(app, "flags", "set", "enable_gflownet_v2", "on")
    path = Path(os.environ["EMILY_HOME"]) / "flags.yaml"
    path.write_text("flags: [broken", encoding="utf-8")
    output = _ok(app, "flags", "list")
    assert "warning" in output
    assert "enable_gflownet_v2" in output  # the last good flags (here: the defaults)
    with pytest.raises(InputError, match="malformed"):
        runner.invoke(app, ["flags", "set", "x", "on", "--create"], catch_exceptions=False)
    assert path.read_text(encoding="utf-8") == "flags: [broken"


def test_ui_runs_mlflow_on_loopback_with_one_worker(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> None:
        seen.append(command)
        raise KeyboardInterrupt

    monkeypatch.setattr(ops_commands.subprocess, "run", fake_run)
    assert "stopped" in _ok(app, "ui", "--port", "5999")
    command = seen[0]
    assert command[:4] == [sys.executable, "-m", "mlflow", "ui"]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--workers") + 1] == "1"
    assert command[command.index("--backend-store-uri") + 1].startswith("sqlite:///")


def test_ui_defers_to_a_tracking_server(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMILY_MLFLOW_URI", "http://127.0.0.1:5000")
    assert "open it there" in _ok(app, "ui")


def test_build_ui_command_without_artifact_root() -> None:
    config = TrackingConfig(tracking_uri="postgresql://h/db", artifact_root=None)
    assert "--default-artifact-root" not in ops_commands.build_ui_command(config, port=1)


def test_flags_set_refuses_an_unknown_flag_unless_create(app: typer.Typer) -> None:
    """A typo (``enable_gflownet_v3``) must not silently create a flag nobody reads."""
    path = Path(os.environ["EMILY_HOME"]) / "flags.yaml"
    result = runner.invoke(app, ["flags", "set", "enable_gflownet_v3", "on"])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    message = str(result.exception)
    assert "unknown flag 'enable_gflownet_v3'" in message
    assert "enable_gflownet_v2" in message  # names the flags that exist
    assert "--create" in message  # and how to add one on purpose
    assert not path.exists()  # nothing written
    assert "default on" in _ok(app, "flags", "set", "new_flag", "on", "--create")
    listed = json.loads(_ok(app, "flags", "list", "--json"))
    assert set(listed["flags"]) == {"enable_gflownet_v2", "new_flag"}
    assert "default off" in _ok(app, "flags", "set", "new_flag", "off")  # now known: no --create
