"""The documentation site works offline: diagrams drawn, figures shown, no off-host request.

The site is the suite's one strict build (the ``docs_site`` fixture), served by
``http.server`` on a free loopback port. Material draws each mermaid diagram into a *closed*
shadow root, out of a test's reach; an init script opens shadow roots before the page's scripts
run, so the test can read the SVG itself rather than guess from the layout. Before mermaid was
bundled the architecture page showed its ``flowchart LR`` source.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RENDER_TIMEOUT_MS = 30_000
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, {...init, mode: "open"});
};
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(docs_site: Path) -> Iterator[str]:
    site = docs_site
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_the_architecture_diagram_is_drawn_as_svg_offline(
    chromium_page: Any, site_url: str, save_screenshot: Callable[[Any, str], Path]
) -> None:
    page = chromium_page
    page.add_init_script(OPEN_SHADOW_ROOTS)
    page.goto(f"{site_url}/architecture/")
    diagram = page.locator("div.mermaid svg").first
    diagram.wait_for(timeout=RENDER_TIMEOUT_MS)
    labels = diagram.text_content() or ""
    for node in ("Nervous system", "Instinct (Tier 0)", "Cognition", "episodic memory"):
        assert node in labels
    assert diagram.bounding_box()["height"] > 100  # drawn, not an empty element
    assert page.locator("pre.mermaid, pre:has-text('flowchart LR')").count() == 0
    diagram.scroll_into_view_if_needed()
    save_screenshot(page, "docs-site-architecture")
    assert page.offhost_requests == []


@pytest.mark.slow
def test_the_alpha_gating_figure_is_shown_offline(
    chromium_page: Any, site_url: str, save_screenshot: Callable[[Any, str], Path]
) -> None:
    page = chromium_page
    page.goto(f"{site_url}/notes/alpha-gating/")
    figure = page.locator("img[src$='alpha_attention.png']")
    figure.wait_for(timeout=RENDER_TIMEOUT_MS)
    page.wait_for_load_state("load")
    assert figure.evaluate("img => img.complete && img.naturalWidth") > 500
    save_screenshot(page, "docs-site-alpha-gating")
    assert page.offhost_requests == []


PACKAGES = ("core", "nervous_system", "instinct", "cognition", "memory", "runtime", "ops")
MIN_WORDS = 120
"""A package's own description (its module docstring, as the page shows it) is at least this
long: a paragraph or two on what it is for and its main entry points, not "runtime tier."."""
DESCRIPTION = """name => {
  const heading = document.getElementById(`emily.${name}`);
  const body = heading && heading.nextElementSibling;
  if (!body) return "";
  return [...body.querySelectorAll(":scope > p, :scope > ul, :scope > ol")]
    .map(e => e.innerText).join(" ");
}"""


@pytest.mark.slow
@pytest.mark.parametrize("package", PACKAGES)
def test_each_api_page_says_what_its_package_offers(
    chromium_page: Any, site_url: str, package: str
) -> None:
    page = chromium_page
    page.goto(f"{site_url}/reference/{package.replace('.', '_')}/")
    text = page.evaluate(DESCRIPTION, package)
    assert len(text.split()) >= MIN_WORDS, text
    assert page.offhost_requests == []
