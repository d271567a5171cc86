"""Chaos: the serving process is stalled mid-run (SIGSTOP), and its alpha gate must not drift.

A stalled process (a GC pause, a stopped container, a VM descheduled, a debugger) is the classic
way an oscillator that counts its own ticks loses phase: when it resumes it carries on from where
it stopped, behind the clock. Emily's gate reads its phase from the clock (ADR 0004, ``_alpha``
docstring), so a stall must leave it exactly on its reference schedule.

The fault is real: a real ``emily serve`` (uvicorn, LanceDB reflexes, the system clock) answers a
stream of stimuli; the test stops its process group with SIGSTOP while a request is in flight,
keeps it stopped, then sends SIGCONT. Recovery means: the request held during the stall is
answered; ``/diagnostics`` reports no frequency or phase drift, and the phase moved by exactly
``2*pi*f`` times the time the server's own clock says passed across the stall; the
``AlphaPhaseDrift`` rule's expression (read from the Prometheus rules file) is false on the
scraped ``/metrics`` (no false alert); and the server goes on answering.

The in-process drift tests (frequency retuned, salient resets, the alert's recalibration) are unit
tests: ``tests/unit/nervous_system/test_nervous_system_phase_drift.py``.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from _support.ports import free_port
from emily.runtime.stimuli import demo_dataset, demo_stream

pytestmark = pytest.mark.slow

RULES = Path(__file__).parents[2] / "infra" / "prometheus" / "rules" / "emily.rules.yml"
STALL_S = 1.5  # 12 cycles at 8 Hz: a tick-counting oscillator would come back far off phase
START_S = 180.0  # `emily serve` imports the stack and opens LanceDB: slow on a loaded machine


def _start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``emily serve --no-cognition`` in its own process group, once ``/healthz`` answers."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emily", "serve", "--port", str(port), "--no-cognition"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: SIGSTOP and the clean-up reach it all
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_S
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").is_success:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    _stop(proc)
    raise AssertionError(f"emily serve did not start in {START_S:.0f} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Resume the group (a failed test may leave it stopped), then terminate it."""
    try:
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, dict[str, str]]]:
    proc, base = _start(tmp_path / "serve.log")
    try:
        token = (Path(os.environ["EMILY_HOME"]) / "api-token").read_text()
        yield proc, base, {"Authorization": f"Bearer {token}"}
    finally:
        _stop(proc)


def _alpha(base: str, auth: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(f"{base}/diagnostics", headers=auth)
    assert response.status_code == 200, response.text
    alpha: dict[str, Any] = response.json()["alpha"]
    return alpha


def _drift_threshold_hz() -> float:
    """The threshold of the ``AlphaPhaseDrift`` rule: ``abs(emily_alpha_drift_hz) > X``."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    (expr,) = (
        r["expr"]
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") == "AlphaPhaseDrift"
    )
    match = re.fullmatch(r"abs\(emily_alpha_drift_hz\) > ([0-9.]+)", expr.strip())
    assert match, expr
    return float(match.group(1))


def _scraped_drift_hz(base: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    (family,) = (
        f for f in text_string_to_metric_families(text) if f.name == "emily_alpha_drift_hz"
    )
    (sample,) = family.samples
    return float(sample.value)


def _stopped(pid: int) -> bool:
    """Whether ``pid`` is stopped, waiting up to 10 s for the signal to land."""
    deadline = time.monotonic() + 10.0
    while psutil.Process(pid).status() != psutil.STATUS_STOPPED:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _wrap(angle: float) -> float:
    return math.remainder(angle, 2 * math.pi)


def test_a_stalled_server_comes_back_on_its_alpha_reference(
    server: tuple[subprocess.Popen[bytes], str, dict[str, str]],
) -> None:
    proc, base, auth = server
    wines = [s.model_dump(mode="json") for s in demo_stream(demo_dataset(), limit=40)]
    batch = httpx.post(f"{base}/stimuli/batch", json={"stimuli": wines[:20]}, headers=auth)
    assert batch.status_code == 200, batch.text
    before = _alpha(base, auth)
    assert before["frequency_drift_hz"] == 0.0
    assert abs(before["phase_drift_rad"]) < 1e-9

    # the fault: the whole process group stops with a request in flight
    os.killpg(proc.pid, signal.SIGSTOP)
    with ThreadPoolExecutor(1) as pool:
        try:
            assert _stopped(proc.pid)
            held = pool.submit(httpx.post, f"{base}/stimuli", json=wines[20], headers=auth)
            time.sleep(STALL_S)
            assert not held.done()  # nothing answers while the process is stopped
        finally:
            os.killpg(proc.pid, signal.SIGCONT)
        answer = held.result(timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stimulus_id"] == wines[20]["id"]

    # recovered: on the reference schedule, the phase advanced by 2*pi*f over the stall
    after = _alpha(base, auth)
    elapsed = after["time_s"] - before["time_s"]
    assert elapsed >= STALL_S  # the server's clock ran on while it was stopped
    assert after["frequency_hz"] == before["frequency_hz"]
    assert after["frequency_drift_hz"] == 0.0
    assert abs(after["phase_drift_rad"]) < 1e-9
    expected = before["phase_rad"] + 2 * math.pi * before["frequency_hz"] * elapsed
    assert abs(_wrap(after["phase_rad"] - expected)) < 1e-6
    assert abs(_scraped_drift_hz(base)) <= _drift_threshold_hz()  # AlphaPhaseDrift stays quiet
    assert _scraped_drift_hz(base) == 0.0
    rest = httpx.post(f"{base}/stimuli/batch", json={"stimuli": wines[21:]}, headers=auth)
    assert rest.status_code == 200, rest.text
    assert [a["stimulus_id"] for a in rest.json()["answers"]] == [w["id"] for w in wines[21:]]
    assert _alpha(base, auth)["gate_calls"] == after["gate_calls"] + 1
