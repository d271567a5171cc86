"""``emily serve`` and ``emily remediation`` refuse clearly before doing anything risky."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import typer
from prometheus_client import CollectorRegistry, Counter
from typer.testing import CliRunner

from emily.cli.serve_commands import register_serve_commands
from emily.core import ConfigError, InputError, ManualClock
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import Remediator, ensure_token, log_path
from emily.runtime.api.models import AlertmanagerAlert, AlertmanagerNotification

runner = CliRunner()


@pytest.fixture
def home() -> Path:
    """The per-test EMILY_HOME that tests/conftest.py set."""
    return Path(os.environ["EMILY_HOME"])


def cli() -> typer.Typer:
    app = typer.Typer()
    register_serve_commands(app)
    return app


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_serve_refuses_a_non_loopback_host(host: str) -> None:
    result = runner.invoke(cli(), ["serve", "--host", host])
    assert isinstance(result.exception, InputError)
    assert "--allow-remote" in str(result.exception)


def test_serve_refuses_a_world_readable_token_before_building(home: Path) -> None:
    ensure_token(home)
    (home / "api-token").chmod(0o644)
    result = runner.invoke(cli(), ["serve"])
    assert isinstance(result.exception, ConfigError)
    assert "may have leaked" in str(result.exception)
    assert not (home / "lancedb").exists()  # refused before the runtime was built


def test_remediation_list_is_empty_at_first() -> None:
    result = runner.invoke(cli(), ["remediation", "list"])
    assert result.exit_code == 0, result.output
    assert "no remediation actions yet" in result.output


def test_remediation_list_shows_the_log(home: Path) -> None:
    clock = ManualClock()
    registry = CollectorRegistry()
    remediator = Remediator(
        regulator=Regulator(RegulatorConfig(), clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        counter=Counter("emily_remediation_actions", "x", ["action"], registry=registry),
        log=log_path(home),
        clock=clock,
    )
    alert = AlertmanagerAlert(
        status="firing",
        labels={"alertname": "AlphaPowerReduced", "remediation": "adjust_gain"},
        startsAt="2026-01-01T00:00:00Z",
        fingerprint="f",
    )
    result = remediator.handle(
        AlertmanagerNotification(
            version="4",
            groupKey="g",
            status="firing",
            receiver="r",
            groupLabels={},
            commonLabels={},
            commonAnnotations={},
            externalURL="",
            alerts=[alert],
        )
    )
    record_id = result.records[0].id
    listed = runner.invoke(cli(), ["remediation", "list"])
    assert listed.exit_code == 0
    assert record_id in listed.output
    as_json = runner.invoke(cli(), ["remediation", "list", "--json"])
    assert f'"id":"{record_id}"' in as_json.output


def test_revert_without_a_token_says_to_start_the_server() -> None:
    result = runner.invoke(cli(), ["remediation", "revert", "abc"])
    assert isinstance(result.exception, InputError)
    assert "start `emily serve` first" in str(result.exception)


def test_revert_without_a_running_server_says_so(home: Path) -> None:
    ensure_token(home)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        result = runner.invoke(
            cli(), ["remediation", "revert", "abc", "--url", f"http://127.0.0.1:{port}"]
        )
    assert isinstance(result.exception, InputError)
    assert "no `emily serve` is answering" in str(result.exception)
