"""``start_console`` beside a real runtime (embedded LanceDB reflexes), over real HTTP: what
``emily run --console`` opens. The page is public, the stream needs the API token, frames move
with the oscillator and the traffic, and ``close`` stops serving."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from emily.core import ConfigError, system_clock
from emily.core.settings import load_settings
from emily.runtime.api import ensure_token
from emily.runtime.builder import build_runtime, demo_schema
from emily.runtime.console import ConsoleFrame, ConsoleOptions, start_console
from emily.runtime.stimuli import demo_dataset, demo_stream


def read_frames(base: str, token: str, n: int) -> list[ConsoleFrame]:
    """``n`` frames of the live stream, read as a browser does (line by line, as they come)."""
    frames: list[ConsoleFrame] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", f"{base}/console/stream", headers=headers, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                frames.append(ConsoleFrame.model_validate_json(line[6:]))
                if len(frames) == n:
                    break
    return frames


def test_start_console_serves_the_live_runtime_on_a_free_local_port() -> None:
    settings = load_settings()
    runtime = build_runtime(settings, demo_schema(demo_dataset()), clock=system_clock())
    console = start_console(
        runtime, settings, clock=system_clock(), options=ConsoleOptions(rate_hz=10.0)
    )
    try:
        parts = urlsplit(console.url)
        assert parts.hostname == "127.0.0.1"
        assert parts.port == console.port != 0
        assert parts.path == "/"
        assert parts.fragment == f"token={ensure_token(settings.home)}"
        base = console.base_url
        page = httpx.get(f"{base}/")
        assert page.status_code == 200
        assert "console/assets/console.js" in page.text
        assert httpx.get(f"{base}/console/frame").status_code == 401

        token = parts.fragment.removeprefix("token=")
        first = read_frames(base, token, 2)
        runtime.handle_many(list(demo_stream(demo_dataset(), seed=3, limit=200)))
        later = read_frames(base, token, 2)
        # A stream opened within half a tick of the last build gets that cached frame first
        # (the hub builds once per tick for every viewer); its next frame is built after
        # the stimuli. On a quiet machine handle_many fits in that half tick.
        assert first[0].seq < first[1].seq <= later[0].seq < later[1].seq
        assert first[0].oscillator.gain != later[-1].oscillator.gain  # the rhythm runs on
        assert later[-1].traffic.answered == 200
        assert later[-1].latency.count == 200
        assert console.hub.builds >= later[-1].seq >= 3  # every frame read was built here
    finally:
        console.close()
        runtime.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)


def test_a_taken_port_is_a_clear_error() -> None:
    settings = load_settings()
    runtime = build_runtime(settings, demo_schema(demo_dataset()), clock=system_clock())
    try:
        with start_console(runtime, settings, clock=system_clock()) as one:
            with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{one.port}"):
                start_console(runtime, settings, clock=system_clock(), port=one.port)
            assert httpx.get(f"{one.base_url}/healthz").json() == {"status": "ok"}
    finally:
        runtime.close()
