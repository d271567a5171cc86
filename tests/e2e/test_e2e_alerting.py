"""Alerting end to end with the real tools: Prometheus scrapes ``emily serve``, an alert with
``remediation=fallback_tier0`` fires, Alertmanager calls the webhook with the bearer token, the
regulator goes to fallback; when the alert resolves, the action is reverted.

Every process is real (uvicorn in a subprocess, the Debian ``prometheus`` and
``prometheus-alertmanager``), on free loopback ports, with 1 s scrape, evaluation and resend
intervals and a test rule that fires at once (the project's rules need minutes of bad latency).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _support.ports import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def home() -> Path:
    """The per-test EMILY_HOME that tests/conftest.py set."""
    return Path(os.environ["EMILY_HOME"])


ALERT = "EmilyE2EFallback"
SERVE = (
    "import typer; from emily.cli.serve_commands import register_serve_commands; "
    "app = typer.Typer(); register_serve_commands(app); app()"
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is missing: `bash scripts/setup.sh test` installs it (apt-get)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _rules(expr: str) -> str:
    return f"""groups:
  - name: emily-e2e
    interval: 1s
    rules:
      - alert: {ALERT}
        expr: {expr}
        labels: {{ severity: critical, remediation: fallback_tier0 }}
        annotations: {{ summary: "end-to-end test alert" }}
"""


def _wait(what: str, probe: Callable[[], Any], timeout_s: float, procs: list[Any]) -> Any:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{proc.args[0]} exited with {proc.returncode} while waiting: {what}")
        try:
            result = probe()
        except httpx.HTTPError as exc:
            result, last = None, exc
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what} (last error: {last})")


@pytest.fixture
def stack(tmp_path: Path, home: Path) -> Iterator[dict[str, Any]]:
    prometheus, alertmanager = _tool("prometheus"), _tool("prometheus-alertmanager")
    promtool, amtool = _tool("promtool"), _tool("amtool")
    emily_port, prom_port, am_port = free_port(), free_port(), free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str, name: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        emily = start(sys.executable, "-c", SERVE, "serve", "--port", str(emily_port), name="emily")
        base = f"http://127.0.0.1:{emily_port}"
        _wait("emily serve /healthz", lambda: httpx.get(f"{base}/healthz").is_success, 180, procs)
        token_file = home / "api-token"
        assert token_file.stat().st_mode & 0o777 == 0o600

        rules = tmp_path / "rules.yml"
        rules.write_text(_rules('up{job="emily"} == 1'))
        prom_config = tmp_path / "prometheus.yml"
        prom_config.write_text(
            f"""global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
rule_files: [{rules}]
alerting:
  alertmanagers:
    - static_configs: [{{ targets: ["127.0.0.1:{am_port}"] }}]
scrape_configs:
  - job_name: emily
    static_configs: [{{ targets: ["127.0.0.1:{emily_port}"] }}]
"""
        )
        am_config = tmp_path / "alertmanager.yml"
        am_config.write_text(
            f"""route:
  receiver: emily-remediation
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: emily-remediation
    webhook_configs:
      - url: {base}/remediation/alertmanager
        send_resolved: true
        http_config:
          authorization: {{ type: Bearer, credentials_file: {token_file} }}
"""
        )
        for check in (
            [promtool, "check", "config", prom_config],
            [amtool, "check-config", am_config],
        ):
            result = subprocess.run(
                [str(a) for a in check], check=False, capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, result.stdout + result.stderr

        start(
            alertmanager,
            f"--config.file={am_config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            name="alertmanager",
        )
        prom = start(
            prometheus,
            f"--config.file={prom_config}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            # Prometheus holds an alert's next notification for a minute by default; with it the
            # resolution reached the webhook 62 s after the rule changed, with 1 s here 3 s
            "--rules.alert.resend-delay=1s",
            name="prometheus",
        )
        headers = {"Authorization": f"Bearer {token_file.read_text()}"}
        yield {
            "base": base,
            "headers": headers,
            "rules": rules,
            "prometheus": prom,
            "emily": emily,
            "procs": procs,
            "logs": logs,
        }
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_an_alert_forces_fallback_and_its_resolution_reverts_it(
    stack: dict[str, Any], home: Path
) -> None:
    base, headers, procs = stack["base"], stack["headers"], stack["procs"]

    def state() -> str:
        return str(httpx.get(f"{base}/state", headers=headers).json()["regulator"]["state"])

    def log() -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{base}/remediation", headers=headers).json()
        return body

    assert state() != "fallback"
    _wait("the regulator to go to fallback", lambda: state() == "fallback", 120, procs)
    records = log()["records"]
    applied = [r for r in records if r["outcome"] == "applied"]
    assert len(applied) == 1, records
    assert applied[0]["action"] == "fallback_tier0"
    assert applied[0]["alertname"] == ALERT
    assert applied[0]["who"].startswith("alertmanager")
    assert log()["active"] == [applied[0]["id"]]
    metrics = httpx.get(f"{base}/metrics").text
    assert 'emily_remediation_actions_total{action="fallback_tier0"} 1.0' in metrics
    on_disk = (home / "logs" / "remediation.jsonl").read_text()
    assert applied[0]["id"] in on_disk

    stack["rules"].write_text(_rules('up{job="emily"} == 2'))  # never true: the alert resolves
    stack["prometheus"].send_signal(signal.SIGHUP)
    _wait("the regulator to leave fallback", lambda: state() != "fallback", 120, procs)
    final = log()
    reverted = [r for r in final["records"] if r["outcome"] == "reverted"]
    assert [r["reverts"] for r in reverted] == [applied[0]["id"]]
    assert reverted[0]["who"] == "alertmanager"
    assert final["active"] == []
    assert len([r for r in final["records"] if r["outcome"] == "applied"]) == 1  # acted once
