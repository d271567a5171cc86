"""The live console in a real browser (Playwright driving Debian's Chromium) over a real
``emily serve --demo-schema`` with cognition: it loads, the oscillator moves, a demo stream
brings up hypothesis graphs, a fallback forced through the remediation webhook shows, a missing
token asks for one, and no request ever leaves the machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _support.ports import free_port
from emily.runtime.stimuli import demo_dataset, demo_stream

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVE_START_S = 240
COGNITION_WAIT_S = 90


class Served:
    """A running ``emily serve``: its base URL, token and home."""

    def __init__(self, base: str, token: str, home: Path) -> None:
        self.base, self.token, self.home = base, token, home
        self.auth = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``emily serve --demo-schema`` (cognition on) in its own home, as a user starts it."""
    root = tmp_path_factory.mktemp("console")
    home = root / "home"
    env = {**os.environ, "EMILY_HOME": str(home), "EMILY_CONFIG": str(root / "none.toml")}
    port = free_port()
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emily", "serve", "--demo-schema", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_START_S
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz").is_success:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"emily serve did not start:\n{log.read_text()}"
            time.sleep(0.5)
        yield Served(base, (home / "api-token").read_text(), home)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _gain_points(page: Any) -> str:
    return str(page.get_attribute("#osc-gain", "points"))


def _fallback_alert() -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="ReflexLatencyHigh"}',
        "status": "firing",
        "receiver": "emily-remediation",
        "groupLabels": {"alertname": "ReflexLatencyHigh"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "ReflexLatencyHigh", "remediation": "fallback_tier0"},
                "startsAt": "2026-11-24T12:00:00Z",
                "fingerprint": "console-browser-test",
            }
        ],
    }


def test_the_console_shows_the_running_mind(
    served: Served, chromium_page: Any, save_screenshot: Callable[[Any, str], Path]
) -> None:
    page = chromium_page
    page.goto(f"{served.base}/#token={served.token}")
    page.wait_for_function("() => Number(document.body.dataset.frame || 0) >= 2", timeout=15_000)
    assert "token" not in page.url  # the fragment is dropped once read: not in history
    assert page.is_visible("#panels")
    assert not page.is_visible("#login")

    first = _gain_points(page)
    page.wait_for_timeout(400)
    second = _gain_points(page)
    assert first != second
    assert len(first.split()) >= 100

    # Unlabelled, so nothing is learned and every stimulus the gate lets through with a gain of
    # 0.5 or more is a reflex miss that cognition is offered.
    wines = [
        s.model_dump(mode="json", exclude={"label"})
        for s in demo_stream(demo_dataset(), seed=1, limit=200)
    ]
    started = time.monotonic()
    with httpx.Client(base_url=served.base, headers=served.auth) as client:
        for wine in wines:  # one by one, as a live source sends them: each meets its own phase
            posted = client.post("/stimuli", json=wine)
            assert posted.status_code == 200, posted.text
    page.wait_for_selector("#dags svg.dag", timeout=COGNITION_WAIT_S * 1000)
    seen_after = time.monotonic() - started
    assert page.locator("#dags svg.dag").count() >= 1
    assert page.locator("#heatmap rect.cell").count() == 16  # four demo features
    assert "answered" in page.text_content("#rate-text")
    print(f"first hypothesis graph on the page {seen_after:.1f} s after the demo stream began")
    save_screenshot(page, "console-live")

    acted = httpx.post(
        f"{served.base}/remediation/alertmanager", json=_fallback_alert(), headers=served.auth
    )
    assert acted.status_code == 200, acted.text
    page.wait_for_function(
        "() => document.getElementById('reg-state').textContent === 'fallback'", timeout=5_000
    )
    assert "fallback_tier0" in page.text_content("#remedies")
    assert "forced" in page.text_content("#reg-why")
    save_screenshot(page, "console-fallback")
    assert page.offhost_requests == []


def test_without_a_token_the_console_asks_for_it(
    served: Served, chromium_page: Any, save_screenshot: Callable[[Any, str], Path]
) -> None:
    page = chromium_page
    page.goto(f"{served.base}/")
    page.wait_for_selector("#login", state="visible")
    assert "EMILY_HOME/api-token" in page.text_content("#login")
    assert not page.is_visible("#panels")
    save_screenshot(page, "console-login")

    page.fill("#token", "not-the-token")
    page.click("#login button")
    page.wait_for_function(
        "() => document.getElementById('login-error').textContent.includes('refused')",
        timeout=5_000,
    )
    page.fill("#token", served.token)
    page.click("#login button")
    page.wait_for_function("() => Number(document.body.dataset.frame || 0) >= 1", timeout=15_000)
    assert page.is_visible("#panels")
    assert page.offhost_requests == []
