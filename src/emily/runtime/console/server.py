"""The console on a local port beside a running loop (``emily run --console``).

``emily serve`` mounts the console on its own app (``create_app``). A loop that serves no API
gets ``start_console``: a console-only app (the page, ``/console/frame``, ``/console/stream``
and ``/healthz``, no docs) served by uvicorn in a daemon thread, so the loop's own thread keeps
answering stimuli. The token is the API's (``EMILY_HOME/api-token``); the URL the caller prints
carries it in the fragment (``/#token=...``), which browsers never send to the server.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from emily.core import Clock, ConfigError
from emily.core.settings import EmilySettings
from emily.runtime.api.auth import BearerAuth, ensure_token
from emily.runtime.api.models import Health, RemediationRecord
from emily.runtime.api.remediation import log_path, read_log
from emily.runtime.console.hub import ConsoleHub
from emily.runtime.console.options import ConsoleOptions
from emily.runtime.console.stream import console_router
from emily.runtime.loop import TriuneRuntime

STARTUP_TIMEOUT_S = 30.0


def create_console_app(hub: ConsoleHub, token: str) -> FastAPI:
    """A console-only app: the page, its data behind ``token``, and ``/healthz``."""
    app = FastAPI(title="Emily Sovereign console", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(console_router(hub, BearerAuth(token)))

    @app.get("/healthz")
    def healthz() -> Health:
        """Liveness: the console serves requests."""
        return Health(status="ok")

    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} for the console: {exc}") from None
    return sock


class ThreadedServer:
    """uvicorn serving ``app`` from a daemon thread on an already bound socket.

    Why bind first: ``port=0`` picks a free port, and the caller needs to know which before it
    prints the URL; binding here also turns a taken port into a ``ConfigError`` at once.
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._socket = _bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"console-{self.port}",
        )  # fmt: skip
        self._thread.start()
        ready = threading.Event()
        for _ in range(int(STARTUP_TIMEOUT_S / 0.01)):
            if self._server.started or not self._thread.is_alive() or ready.wait(0.01):
                break
        if not self._server.started:
            self.close()
            raise ConfigError(f"the console server on {host}:{self.port} did not start")

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (an IPv6 host in brackets)."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def close(self) -> None:
        """Stop serving (open streams end) and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class ConsoleServer:
    """A running console: open ``url`` in a browser; ``close()`` when the loop ends."""

    def __init__(self, server: ThreadedServer, hub: ConsoleHub, token: str) -> None:
        self._server = server
        self.hub = hub
        self.port = server.port
        self.base_url = server.base_url
        self.url = f"{server.base_url}/#token={token}"
        """The page, with the token in the fragment (never sent to the server or logged)."""

    def close(self) -> None:
        """Stop serving."""
        self._server.close()

    def __enter__(self) -> ConsoleServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def log_remediation(settings: EmilySettings) -> list[RemediationRecord]:
    """The remediation log of ``EMILY_HOME`` (what an ``emily serve`` beside us has done)."""
    return read_log(log_path(settings.home))


def start_console(
    runtime: TriuneRuntime,
    settings: EmilySettings,
    *,
    clock: Clock,
    host: str = "127.0.0.1",
    port: int = 0,
    options: ConsoleOptions | None = None,
) -> ConsoleServer:
    """Serve the console of ``runtime`` on ``host:port`` (0: any free port) from a thread.

    Raises:
        ConfigError: the token file is unsafe, or the port cannot be bound or served.
    """
    token = ensure_token(settings.home)
    hub = ConsoleHub(
        runtime,
        clock=clock,
        options=options,
        remediation=lambda: (log_remediation(settings), None),
    )
    server = ThreadedServer(create_console_app(hub, token), host, port)
    return ConsoleServer(server, hub, token)
