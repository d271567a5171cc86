"""``emily ui``'s command starts an MLflow UI that answers on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from _support.ports import free_port
from emily.cli.ops_commands import build_ui_command
from emily.ops.tracking import tracking_config


@pytest.mark.slow
def test_ui_answers_on_loopback() -> None:
    port = free_port()
    command = build_ui_command(tracking_config(), port=port)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the UI's workers stop with it
    )
    try:
        deadline = time.monotonic() + 120  # ~7 s idle; much longer on a loaded 2-core machine
        body = b""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.5)
        assert body == b"OK", f"MLflow UI did not answer (exit code {server.poll()})"
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C on `emily ui` sends
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
