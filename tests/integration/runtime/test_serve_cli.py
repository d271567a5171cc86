"""``emily serve`` for real (uvicorn subprocess, embedded engines, default options), driven over
HTTP, and ``emily remediation revert`` acting on it through the API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from _support.ports import free_port
from emily.cli.serve_commands import register_serve_commands
from emily.runtime.stimuli import demo_dataset, demo_stream

pytestmark = pytest.mark.slow


@pytest.fixture
def home() -> Path:
    """The per-test EMILY_HOME that tests/conftest.py set."""
    return Path(os.environ["EMILY_HOME"])


SERVE = (
    "import typer; from emily.cli.serve_commands import register_serve_commands; "
    "app = typer.Typer(); register_serve_commands(app); app()"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz").is_success:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "emily serve did not start in 180 s"
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    log = (tmp_path / "serve.log").read_text()
    assert "Emily API on http://127.0.0.1:" in log
    assert "api-token" in log
    assert "live console: http://127.0.0.1:" in log
    assert "#token=" not in log  # the secret goes to a terminal only, never into a log file


def _alert(status: str) -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="AlphaPowerReduced"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "emily-remediation",
        "groupLabels": {"alertname": "AlphaPowerReduced"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "AlphaPowerReduced", "remediation": "adjust_gain"},
                "annotations": {"runbook": "ops/runbooks/alpha-power-reduced.md"},
                "startsAt": "2026-11-24T12:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }


def test_serve_answers_stimuli_and_cli_reverts_a_remediation(server: str, home: Path) -> None:
    token = (home / "api-token").read_text()
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server}/state").status_code == 401
    assert httpx.get(f"{server}/readyz", headers=auth).json()["ready"] is True

    wines = [s.model_dump(mode="json") for s in demo_stream(demo_dataset(), limit=21)]
    answer = httpx.post(f"{server}/stimuli", json=wines[0], headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stimulus_id"] == wines[0]["id"]
    partial = {"id": "bad", "features": {"alcohol": 13.0}}
    refused = httpx.post(f"{server}/stimuli", json=partial, headers=auth)
    assert refused.status_code == 400
    assert "missing" in refused.json()["detail"]
    mixed = httpx.post(
        f"{server}/stimuli/batch", json={"stimuli": [wines[1], partial]}, headers=auth
    )
    assert mixed.status_code == 400
    assert "stimuli[1] (id 'bad')" in mixed.json()["detail"]
    assert httpx.get(f"{server}/state", headers=auth).json()["latency"]["count"] == 1
    batch = httpx.post(f"{server}/stimuli/batch", json={"stimuli": wines[1:]}, headers=auth)
    assert batch.status_code == 200, batch.text
    assert httpx.get(f"{server}/state", headers=auth).json()["latency"]["count"] == 21

    gain = httpx.get(f"{server}/state", headers=auth).json()["alpha"]["alpha_power_gain"]
    fired = httpx.post(f"{server}/remediation/alertmanager", json=_alert("firing"), headers=auth)
    assert fired.status_code == 200, fired.text
    record_id = fired.json()["records"][0]["id"]
    raised = httpx.get(f"{server}/state", headers=auth).json()["alpha"]["alpha_power_gain"]
    assert raised > gain

    app = typer.Typer()
    register_serve_commands(app)
    listed = CliRunner().invoke(app, ["remediation", "list", "--json"])
    assert record_id in listed.output
    reverted = CliRunner().invoke(app, ["remediation", "revert", record_id, "--url", server])
    assert reverted.exit_code == 0, reverted.output
    assert f"reverted {record_id}" in reverted.output
    after = httpx.get(f"{server}/state", headers=auth).json()["alpha"]["alpha_power_gain"]
    assert after == gain
    again = CliRunner().invoke(app, ["remediation", "revert", record_id, "--url", server])
    assert again.exception is not None
    assert "409" in str(again.exception)
    resolved = httpx.post(
        f"{server}/remediation/alertmanager", json=_alert("resolved"), headers=auth
    )
    assert resolved.json()["records"] == []  # already reverted by hand: nothing to do
