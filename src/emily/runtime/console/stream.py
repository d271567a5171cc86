"""The console's routes: the page (public, static, bundled) and its data (bearer token).

* ``GET /`` and ``GET /console/assets/{name}``: the page, its script and its style, read from
  the package (``console/static``) and served with a Content-Security-Policy that allows this
  origin only, so the page cannot fetch from another host even by mistake.
* ``GET /console/frame``: one ``ConsoleFrame`` as JSON.
* ``GET /console/stream``: server-sent events, one ``frame`` event per tick (``ConsoleHub``).
  The page reads it with ``fetch`` and an ``Authorization`` header (``EventSource`` cannot send
  one), so the token never travels in a URL. ``?frames=N`` ends the stream after N frames.

Everything here is read-only: no route changes the runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from emily.runtime.api.auth import BearerAuth
from emily.runtime.api.models import ErrorBody
from emily.runtime.console.frame import ConsoleFrame
from emily.runtime.console.hub import ConsoleHub, TooManyViewersError

STATIC = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
"""The bundled files, by name, with their media types (nothing else is served)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def static_files() -> dict[str, bytes]:
    """The page's files as bytes, read once from the package."""
    folder = resources.files("emily.runtime.console").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in STATIC}


class _Slot:
    """A viewer slot given back exactly once, whichever of the stream's end or the response's
    background task gets there first (a client gone before the first byte skips the former)."""

    def __init__(self, hub: ConsoleHub) -> None:
        self._hub = hub
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._hub.leave()


def sse_event(frame: ConsoleFrame, data: bytes) -> bytes:
    """One server-sent event: ``id``, ``event: frame`` and the frame's JSON on one data line."""
    return b"id: %d\nevent: frame\ndata: %s\n\n" % (frame.seq, data)


def console_router(hub: ConsoleHub, auth: BearerAuth) -> APIRouter:
    """The console's routes over ``hub``; ``auth`` guards the data (the API's token)."""
    files = static_files()
    router = APIRouter(tags=["console"])
    data = APIRouter(tags=["console"], dependencies=[Depends(auth)])

    def _static(name: str) -> Response:
        return Response(files[name], media_type=STATIC[name], headers=SECURITY_HEADERS)

    @router.get("/", include_in_schema=False)
    def page() -> Response:
        """The live console (public: the data it shows needs the token)."""
        return _static("index.html")

    @router.get("/console/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        """The console's script and style."""
        if name not in STATIC or name == "index.html":
            raise HTTPException(404, f"no console asset {name!r}")
        return _static(name)

    @data.get(
        "/console/frame",
        responses={401: {"model": ErrorBody, "description": "Missing or wrong bearer token."}},
    )
    def frame() -> ConsoleFrame:
        """What the console shows now: oscillator window, traffic, latency, regulator,
        reflexes, hypotheses and remediation. ``GET /console/stream`` sends the same frames as
        server-sent events (``event: frame``), a few per second, with the same token."""
        return hub.latest()[0]

    # Not in the OpenAPI document: an endless event stream is no request/response operation,
    # and contract fuzzing would wait on it forever. ``/console/frame``'s text points here.
    @data.get("/console/stream", response_class=StreamingResponse, include_in_schema=False)
    def stream(
        frames: Annotated[
            int | None, Query(ge=1, le=1_000_000, description="End after this many frames.")
        ] = None,
    ) -> StreamingResponse:
        """Server-sent events: a ``frame`` event (a ``ConsoleFrame``) a few times a second."""
        try:
            hub.join()
        except TooManyViewersError as exc:
            raise HTTPException(503, str(exc)) from None
        slot = _Slot(hub)
        return StreamingResponse(
            _events(hub, slot, frames),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            background=BackgroundTask(slot.release),
        )

    router.include_router(data)
    return router


async def _events(hub: ConsoleHub, slot: _Slot, frames: int | None) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 2000\n\n"
        sent = 0
        while True:
            built: tuple[Any, bytes] = await anyio.to_thread.run_sync(hub.latest)
            yield sse_event(*built)
            sent += 1
            if frames is not None and sent >= frames:
                return
            await anyio.sleep(hub.period_s)
    finally:
        slot.release()
