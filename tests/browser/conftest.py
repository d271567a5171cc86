"""Playwright driving Debian's Chromium: a page per test that records every request it makes to
another host, and screenshots kept as test artifacts.

A sovereign install must work with no network, so a page that fetches a script from a CDN is a
bug even when the CDN happens to answer; recording requests (rather than trusting that the page
rendered) is what lets a test say so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
REPO = Path(__file__).resolve().parents[2]


def is_off_host(url: str) -> bool:
    """True for a network request to any host but this machine (data:, blob: stay local)."""
    parts = urlsplit(url)
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOCAL_HOSTS


def artifacts_dir() -> Path:
    """Where screenshots go: ``EMILY_TEST_ARTIFACTS``, else ``.emily-test-artifacts/``."""
    folder = Path(os.environ.get("EMILY_TEST_ARTIFACTS", REPO / ".emily-test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    """A headless Debian Chromium per test module (set-up installs the ``chromium`` package).

    Not per session: while Playwright's sync API is started, the main thread has a *running*
    asyncio loop, so every later test in the process would see one, and libraries that pick
    sync or async by that (Prefect's flows, DBOS) returned coroutines to the memory tests.
    """
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `bash scripts/setup.sh test`")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def chromium_page(chromium_browser: object) -> Iterator[object]:
    """A fresh page whose ``offhost_requests`` lists every URL it asked of another host."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    offhost: list[str] = []
    page.on("request", lambda request: is_off_host(request.url) and offhost.append(request.url))
    page.offhost_requests = offhost
    yield page
    context.close()


@pytest.fixture
def save_screenshot() -> Callable[[object, str], Path]:
    """``save_screenshot(page, name)`` writes ``<artifacts>/<name>.png`` and returns its path."""

    def save(page: object, name: str) -> Path:
        path = artifacts_dir() / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return save
