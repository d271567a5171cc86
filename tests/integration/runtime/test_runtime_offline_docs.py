"""``/docs`` and ``/redoc`` load Swagger UI and ReDoc from the server itself, never from a CDN.

In-process (Starlette's test client): the pages, the asset route and the real app as
``create_app`` builds it. That the pages then render in a browser with no off-host request is
``tests/browser/test_browser_docs_api.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from emily.core import ConfigError, ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import create_app
from emily.runtime.api.offline_docs import (
    ASSET_FILES,
    ASSETS_URL,
    REDOC_SCRIPT,
    assets_dir,
    install_offline_docs,
)
from emily.runtime.loop import TriuneRuntime

DIM = 512
URL_IN_PAGE = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'")\s>]+)""")
"""What a page loads: ``src=``/``href=`` attributes and the spec ``url:`` Swagger UI is given."""
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def loaded_urls(html: str) -> list[str]:
    """Every URL the page's markup asks the browser to load."""
    return URL_IN_PAGE.findall(html)


def offline_app() -> FastAPI:
    app = FastAPI(title="Probe", docs_url=None, redoc_url=None)

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ping": "pong"}

    install_offline_docs(app)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(offline_app())


@pytest.mark.parametrize(
    ("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", REDOC_SCRIPT)]
)
def test_each_page_loads_only_local_files(client: TestClient, page: str, script: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    urls = loaded_urls(html.text)
    assert f"{ASSETS_URL}/{script}" in urls
    assert "/openapi.json" in urls
    assert [u for u in urls if "//" in u] == []  # no absolute URL: nothing from another host
    assert "fonts.googleapis" not in html.text
    assert "cdn.jsdelivr" not in html.text


def test_swagger_ui_has_no_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_every_asset_the_pages_load_is_served(client: TestClient) -> None:
    for name in ASSET_FILES:
        reply = client.get(f"{ASSETS_URL}/{name}")
        assert reply.status_code == 200, name
        assert CONTENT_TYPES[name[name.rindex(".") :]] in reply.headers["content-type"]
        assert len(reply.content) > 1000, name  # the real bundle, not a stub
    assert b"SwaggerUIBundle" in client.get(f"{ASSETS_URL}/swagger-ui-bundle.js").content
    assert b"Redoc" in client.get(f"{ASSETS_URL}/redoc.standalone.js").content
    assert client.get(f"{ASSETS_URL}/nothing.js").status_code == 404


def test_redoc_is_served_without_the_logo_it_would_fetch_from_a_cdn(client: TestClient) -> None:
    shipped = (assets_dir() / "redoc.standalone.js").read_bytes()
    assert b"https://cdn.redoc.ly/" in shipped  # the package's bundle fetches its logo...
    served = client.get(f"{ASSETS_URL}/{REDOC_SCRIPT}")
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    assert b"https://cdn.redoc.ly/" not in served.content  # ...the page's copy does not
    assert b"data:image/svg+xml" in served.content
    assert abs(len(served.content) - len(shipped)) < 100  # the rest is the same bundle


def test_the_pages_are_not_in_the_schema_and_the_routes_still_are(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/ping"}


def test_the_pages_follow_a_proxys_root_path() -> None:
    client = TestClient(offline_app(), root_path="/emily")
    urls = loaded_urls(client.get("/docs").text)
    assert f"/emily{ASSETS_URL}/swagger-ui-bundle.js" in urls
    assert "/emily/openapi.json" in urls


def test_an_app_with_the_cdn_pages_is_refused() -> None:
    with pytest.raises(ConfigError, match="docs_url=None, redoc_url=None"):
        install_offline_docs(FastAPI())


# The real app, as create_app builds it (FastAPI(..., docs_url=None, redoc_url=None) and
# install_offline_docs): no CDN page is left anywhere in it.


@pytest.fixture
def real_app() -> Iterator[FastAPI]:
    clock = ManualClock()
    encoder = StimulusEncoder(
        StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)}), dim=DIM
    )
    runtime = TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    yield create_app(runtime, settings, clock=ManualClock(), token="docs-token")
    runtime.close()


def test_the_real_app_serves_its_docs_offline(real_app: FastAPI) -> None:
    client = TestClient(real_app)
    for page, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", REDOC_SCRIPT)):
        html = client.get(page)  # open: the pages describe the API, calling it needs the token
        assert html.status_code == 200, page
        urls = loaded_urls(html.text)
        assert f"{ASSETS_URL}/{script}" in urls, page
        assert [u for u in urls if "//" in u] == [], page
        assert client.get(f"{ASSETS_URL}/{script}").status_code == 200
    assert "Emily Sovereign" in client.get("/docs").text
    assert client.get("/state").status_code == 401  # the API itself is still protected
