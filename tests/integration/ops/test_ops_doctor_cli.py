from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _support.ports import free_port
from emily import __version__
from emily.cli.app import app, main

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "doctor" in result.output
    assert "version" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_doctor_json_on_a_healthy_home(tmp_path: Path) -> None:
    home = tmp_path / "emily-home"
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["ok"] is True
    names = {c["name"] for c in payload["checks"]}
    assert {"python", "home", "disk", "engine:falkordb", "engine:lancedb"} <= names
    assert home.is_dir()
    assert not list(home.glob(".doctor-*"))  # the write probe cleans up


def test_doctor_unwritable_home_fails_with_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("EMILY_HOME", str(blocker / "home"))  # unwritable even for root
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✗" in result.output
    assert "not writable" in result.output
    assert "point EMILY_HOME at a writable folder" in result.output

    as_json = runner.invoke(app, ["doctor", "--json"])
    assert as_json.exit_code == 1
    home = next(c for c in json.loads(as_json.output)["checks"] if c["name"] == "home")
    assert home["ok"] is False
    assert "EMILY_HOME" in home["fix"]


@pytest.mark.parametrize(
    ("variable", "scheme", "check"),
    [
        ("EMILY_FALKORDB_URL", "redis", "engine:falkordb"),
        ("EMILY_REDIS_URL", "redis", "engine:redis"),
        ("EMILY_MLFLOW_URI", "http", "engine:mlflow"),
    ],
)
def test_doctor_reports_an_unreachable_server(
    monkeypatch: pytest.MonkeyPatch, variable: str, scheme: str, check: str
) -> None:
    monkeypatch.setenv(variable, f"{scheme}://127.0.0.1:{free_port()}")
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    found = next(c for c in json.loads(result.output)["checks"] if c["name"] == check)
    assert found["ok"] is False
    assert "does not answer" in found["detail"]
    assert variable in found["fix"]


def test_bad_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMILY_LATENCY_BUDGET_MS", "fast")
    monkeypatch.setattr("sys.argv", ["emily", "doctor"])
    with pytest.raises(SystemExit) as excinfo:
        main()
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "EMILY_LATENCY_BUDGET_MS='fast' is invalid" in err
    assert "Traceback" not in err


@pytest.fixture
def restore_umask() -> Iterator[None]:
    """Tests here change the process umask (as ``main`` does); put it back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def _check(output: str, name: str) -> dict[str, object]:
    found: dict[str, object] = next(c for c in json.loads(output)["checks"] if c["name"] == name)
    return found


@pytest.mark.usefixtures("restore_umask")
def test_doctor_warns_when_home_is_readable_by_others(tmp_path: Path) -> None:
    home = tmp_path / "emily-home"
    (home / "journal").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    outbox = home / "journal" / "outbox.sqlite3"
    outbox.write_bytes(b"episodes")
    outbox.chmod(0o644)
    os.umask(0o077)  # what `main` sets, so the doctor's own probes stay private
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output  # a warning, not a failure
    found = _check(result.output, "home:private")
    assert found["ok"] is False
    assert found["required"] is False
    assert str(outbox) in str(found["detail"])
    assert found["fix"] == f"chmod -R go-rwx {home}"

    outbox.chmod(0o600)
    again = _check(runner.invoke(app, ["doctor", "--json"]).output, "home:private")
    assert again["ok"] is True, again


@pytest.mark.usefixtures("restore_umask")
def test_main_makes_new_files_private(monkeypatch: pytest.MonkeyPatch) -> None:
    os.umask(0o022)
    monkeypatch.setattr("sys.argv", ["emily", "version"])
    with pytest.raises(SystemExit) as excinfo:
        main()
    assert excinfo.value.code == 0
    current = os.umask(0o022)
    assert current == 0o077
