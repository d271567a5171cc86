"""The browser fixture itself: it must see an off-host request, or a "no off-host request"
assertion elsewhere could pass because nothing was recorded."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PAGE = b"""<!doctype html><html><body><p id="ok">local</p>
<script src="https://cdn.example.invalid/lib.js"></script></body></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_page_fixture_records_a_request_to_another_host_and_saves_a_screenshot(
    chromium_page: object, local_site: str, save_screenshot: Callable[[object, str], Path]
) -> None:
    chromium_page.goto(local_site)  # type: ignore[attr-defined]
    assert chromium_page.text_content("#ok") == "local"  # type: ignore[attr-defined]
    assert chromium_page.offhost_requests == ["https://cdn.example.invalid/lib.js"]  # type: ignore[attr-defined]
    shot = save_screenshot(chromium_page, "fixture-self-test")
    assert shot.stat().st_size > 1000
