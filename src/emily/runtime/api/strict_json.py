"""Refuse JSON that Python parses but nothing can write back: non-finite numbers, lone surrogates.

Python's ``json`` (which FastAPI parses bodies with) accepts ``NaN``, ``Infinity`` and
``-Infinity``, turns ``1e999`` into ``inf``, and decodes ``"\\ud800"`` into a lone surrogate.
None of these is valid JSON or Unicode, so any answer, validation error or log line that holds
one fails to encode: FastAPI's validation handler echoes the input and crashes with a 500, and a
value that passes validation (a surrogate in an alert label or a stimulus id) reaches the runtime
before the response or the audit log fails. ``StrictJsonRoute`` looks at a route's body before
FastAPI parses it and turns the first such value into a ``RequestValidationError`` that names
where it is (``body.alerts.0.labels.alertname``), so it is answered 422 and nothing is handled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

Location = tuple[str | int, ...]


class _NonFinite:
    """What a non-finite number parses to, so the walk can say where it was."""

    def __init__(self, text: str) -> None:
        self.text = text


def _number(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so it can be encoded."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def unrepresentable(body: bytes) -> tuple[Location, str] | None:
    """Where ``body`` holds a non-finite number or a lone surrogate, and what it is.

    Returns ``None`` for a body without either, and for one that is not JSON at all: FastAPI's
    own parser reports that (as ``json_invalid``, 422, or 400 for undecodable bytes).
    """
    try:
        data = json.loads(body, parse_constant=_NonFinite, parse_float=_number)
    except RecursionError:
        return (), "JSON nested too deeply to parse; expected at most a few hundred levels"
    except ValueError:
        return None
    stack: list[tuple[Location, Any]] = [((), data)]
    while stack:  # depth first, in document order; no recursion (nesting can be deep)
        where, value = stack.pop()
        if isinstance(value, _NonFinite):
            return where, f"{value.text} is not a finite number; expected a finite JSON number"
        if isinstance(value, str) and not _encodable(value):
            return where, "text holds a lone surrogate (not valid Unicode); expected UTF-8 text"
        if isinstance(value, dict):
            for key in value:
                if not _encodable(key):
                    return (*where, printable(key)), (
                        "a key holds a lone surrogate (not valid Unicode); expected UTF-8 text"
                    )
            stack.extend(((*where, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*where, i), v) for i, v in reversed(list(enumerate(value))))
    return None


class StrictJsonRoute(APIRoute):
    """An ``APIRoute`` that refuses a body holding a non-finite number or a lone surrogate with
    a ``RequestValidationError`` (422) before FastAPI parses it or the handler sees it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            found = unrepresentable(await request.body())  # cached: FastAPI reads it again
            if found is not None:
                where, problem = found
                error = {"type": "value_error", "loc": ("body", *where), "msg": problem}
                raise RequestValidationError([error])
            return await handler(request)

        return strict
