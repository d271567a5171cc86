"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served with their JS and CSS from this machine.

Why: FastAPI's built-in pages load Swagger UI and ReDoc from a CDN, and a sovereign, offline
install never reaches one, so they were blank white pages. The assets come from the
``fastapi-offline`` package (MIT; it ships Swagger UI 5's bundle and CSS and ReDoc 2's
standalone bundle, kept current by its maintainer), served under ``/api-assets/``; only its files
are used, not its app factory, so ``create_app`` keeps building a plain ``FastAPI``. One line of
ReDoc's bundle is changed as it is served: its menu footer loads the Redocly logo from Redocly's
CDN, whatever the options, so the page is served a copy that draws an empty inline image instead
(``redoc.offline.js``, made once when the app is built).

Usage: build the app with ``FastAPI(..., docs_url=None, redoc_url=None)`` (FastAPI's CDN pages
off), then call ``install_offline_docs``. The pages, the assets and ``/openapi.json`` are open
like ``/healthz``: they describe the API, they do not use it (every call made from Swagger UI
still needs the bearer token, entered with its *Authorize* button).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from emily.core import ConfigError

ASSETS_URL = "/api-assets"
"""Where the Swagger UI and ReDoc files are served (``swagger-ui-bundle.js``, ``swagger-ui.css``,
``redoc.standalone.js``, ``favicon.png``)."""
SWAGGER_URL = "/docs"
REDOC_URL = "/redoc"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
"""The package's files the two pages are served from; ``assets_dir`` checks they are all there."""
REDOC_SCRIPT = "redoc.offline.js"
"""ReDoc's bundle as ``/redoc`` loads it: ``redoc.standalone.js`` with the CDN logo replaced."""
REDOC_CDN_LOGO = b'"https://cdn.redoc.ly/redoc/logo-mini.svg"'
EMPTY_IMAGE = b"\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E\""
"""An empty SVG as a ``data:`` URL: drawn from the page itself, no request made."""


def assets_dir() -> Path:
    """The folder of the bundled Swagger UI and ReDoc files (``fastapi_offline/static``).

    Raises:
        ConfigError: the package or one of its files is missing (a broken install): better a
            clear error when the app is built than a blank page later.
    """
    try:
        folder = Path(str(files("fastapi_offline").joinpath("static")))
    except ModuleNotFoundError:
        raise ConfigError(
            "fastapi-offline is not installed; it ships the Swagger UI and ReDoc files that "
            "/docs and /redoc serve: pip install fastapi-offline"
        ) from None
    missing = [name for name in ASSET_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(
            f"{folder} lacks {', '.join(missing)}; reinstall fastapi-offline "
            "(pip install --force-reinstall fastapi-offline)"
        )
    return folder


def offline_redoc_bundle(folder: Path) -> bytes:
    """ReDoc's standalone bundle with the one off-host URL it always loads made inline."""
    return (folder / "redoc.standalone.js").read_bytes().replace(REDOC_CDN_LOGO, EMPTY_IMAGE)


def install_offline_docs(app: FastAPI) -> None:
    """Add ``GET /docs``, ``GET /redoc`` and the static route ``/api-assets/...`` to ``app``.

    Args:
        app: created with ``docs_url=None, redoc_url=None`` and an ``openapi_url`` (the default
            ``/openapi.json``), which both pages read.

    Raises:
        ConfigError: ``app`` still has FastAPI's CDN pages, has no OpenAPI schema, or the assets
            are missing.
    """
    if app.docs_url is not None or app.redoc_url is not None:
        raise ConfigError(
            "install_offline_docs needs FastAPI(docs_url=None, redoc_url=None): the app already "
            f"serves the CDN pages at {app.docs_url or app.redoc_url}"
        )
    if app.openapi_url is None:
        raise ConfigError("install_offline_docs needs an OpenAPI schema (openapi_url is None)")
    openapi_url = app.openapi_url
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    folder = assets_dir()
    redoc_bundle = offline_redoc_bundle(folder)

    @app.get(f"{ASSETS_URL}/{REDOC_SCRIPT}", include_in_schema=False)
    def redoc_script() -> Response:
        # Declared before the mount below, so this route answers for this one name.
        return Response(redoc_bundle, media_type="text/javascript; charset=utf-8")

    app.mount(ASSETS_URL, StaticFiles(directory=folder), name="api-assets")

    def root(request: Request) -> str:
        """The prefix a reverse proxy mounts the app under (``root_path``), as FastAPI's own
        pages use it, so the links work behind one."""
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(SWAGGER_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=prefix + oauth2_redirect_url if oauth2_redirect_url else None,
            swagger_js_url=f"{prefix}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{prefix}{ASSETS_URL}/favicon.png",
            # No online validator badge: it would send the schema to swagger.io.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    if oauth2_redirect_url:

        @app.get(oauth2_redirect_url, include_in_schema=False)
        def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{prefix}{ASSETS_URL}/{REDOC_SCRIPT}",
            redoc_favicon_url=f"{prefix}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,  # the fonts would come from Google; the system's serve
        )
