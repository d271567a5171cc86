"""``emily run --console`` serves the live browser console while the run lasts (issue #18).

A real ``emily`` process streams the demo; the test reads the URL it prints, asks the console
for a frame with the token from the URL's fragment while the run goes on, and checks that the
port is closed once the run has ended (no terminal here, so it does not wait for Enter).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

URL = re.compile(r"console: (http://127\.0\.0\.1:\d+)/#token=(\S+)")


def _emily() -> list[str]:
    script = Path(sys.executable).with_name("emily")
    return [str(script)] if script.exists() else [shutil.which("emily") or "emily"]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def test_run_console_prints_its_url_and_serves_while_the_run_lasts() -> None:
    command = [
        *_emily(),
        "run",
        "--demo",
        "--console",
        "--no-live",
        "--no-journal",
        "--no-cognition",
        "--limit",
        "2500",
    ]  # fmt: skip  (10 s at the demo's 250/s)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, env={**os.environ, "COLUMNS": "80"},
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        lines = []
        found = None
        for line in proc.stdout:
            lines.append(line)
            if found := URL.search(line):
                break
        assert found is not None, "".join(lines)
        base, token = found.groups()
        status, body = _get(f"{base}/console/frame", token)  # served during the run
        assert status == 200
        assert "oscillator" in json.loads(body)
        rest = proc.stdout.read()
        assert proc.wait(timeout=600) == 0, "".join(lines) + rest
    assert "2,500 stimuli from demo" in rest
    with pytest.raises(urllib.error.URLError):
        _get(f"{base}/healthz")  # the run is over: so is the console
