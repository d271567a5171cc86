"""``emily serve``'s ``/docs`` and ``/redoc`` render fully in Chromium with no off-host request.

The app is the real one (``create_app``), served by uvicorn on a free loopback port. "Fully"
means the JavaScript ran and read the schema: Swagger UI lists the operations, ReDoc draws its
menu. Before the assets were bundled both were blank white pages on an offline machine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import create_app
from emily.runtime.loop import TriuneRuntime

DIM = 512
RENDER_TIMEOUT_MS = 30_000  # a loaded 2-core CI machine parses a 1.5 MB bundle slowly


def serve(app: FastAPI) -> Iterator[str]:
    """uvicorn serving ``app`` from a thread on a socket bound to a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def api_url() -> Iterator[str]:
    clock = ManualClock()
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    runtime = TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    yield from serve(create_app(runtime, settings, clock=ManualClock(), token="docs-token"))
    runtime.close()


def test_swagger_ui_lists_every_operation_offline(
    chromium_page: Any, api_url: str, save_screenshot: Callable[[Any, str], Path]
) -> None:
    page = chromium_page
    page.goto(f"{api_url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=RENDER_TIMEOUT_MS)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/stimuli", "/stimuli/batch", "/state", "/healthz"} <= {p.strip() for p in paths}
    assert "Emily Sovereign" in page.locator(".info .title").inner_text()
    save_screenshot(page, "api-docs-swagger-ui")
    assert page.offhost_requests == []


def test_redoc_draws_its_menu_offline(
    chromium_page: Any, api_url: str, save_screenshot: Callable[[Any, str], Path]
) -> None:
    page = chromium_page
    page.goto(f"{api_url}/redoc")
    page.wait_for_selector("[role=menuitem]", timeout=RENDER_TIMEOUT_MS)
    menu = " ".join(page.locator("[role=menuitem]").all_inner_texts())
    for tag in ("runtime", "flags", "remediation"):
        assert tag in menu
    assert "Emily Sovereign" in page.locator("h1").first.inner_text()
    save_screenshot(page, "api-docs-redoc")
    assert page.offhost_requests == []
