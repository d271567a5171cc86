"""The console's routes in the API app: a public static page, data behind the token, a bounded
server-sent event stream, and remediation shown as it happens (in-memory runtime)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import ApiOptions, create_app
from emily.runtime.console import ConsoleFrame, ConsoleHub, ConsoleOptions, create_console_app
from emily.runtime.loop import TriuneRuntime

TOKEN = "console-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DIM = 1024


def make_runtime(clock: ManualClock) -> TriuneRuntime:
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    return TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )


@pytest.fixture
def runtime() -> Iterator[TriuneRuntime]:
    rt = make_runtime(ManualClock())
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: TriuneRuntime) -> TestClient:
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    options = ApiOptions(console=ConsoleOptions(rate_hz=20.0))
    return TestClient(
        create_app(runtime, settings, clock=runtime.clock, token=TOKEN, options=options)
    )


def events(body: str) -> list[ConsoleFrame]:
    """The ``frame`` events of a server-sent event stream."""
    frames = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "frame":
            frame = ConsoleFrame.model_validate_json(fields["data"])
            assert fields["id"] == str(frame.seq)
            frames.append(frame)
    return frames


def test_the_page_is_public_static_and_allows_no_other_host(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert "EMILY_HOME/api-token" in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text
    for name, kind in [("console.js", "text/javascript"), ("console.css", "text/css")]:
        asset = client.get(f"/console/assets/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(kind)
        assert "http://" not in asset.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in asset.text
    assert client.get("/console/assets/index.html").status_code == 404
    assert client.get("/console/assets/..%2Fframe.py").status_code == 404


def test_the_data_needs_the_token(client: TestClient) -> None:
    for path in ("/console/frame", "/console/stream?frames=1"):
        refused = client.get(path)
        assert refused.status_code == 401
        assert "EMILY_HOME/api-token" in refused.json()["detail"]
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    frame = client.get("/console/frame", headers=AUTH)
    assert frame.status_code == 200
    assert ConsoleFrame.model_validate_json(frame.text).oscillator.frequency_hz == 8.0


def test_the_stream_sends_frames_as_server_sent_events(
    client: TestClient, runtime: TriuneRuntime
) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    response = client.get("/console/stream?frames=3", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: ")
    frames = events(response.text)
    assert len(frames) == 3
    clock.advance(0.03)  # a quarter of an 8 Hz cycle
    later = events(client.get("/console/stream?frames=1", headers=AUTH).text)[0]
    assert later.seq > frames[-1].seq
    assert later.oscillator.gain != frames[-1].oscillator.gain


def test_a_remediation_shows_in_the_next_frame(client: TestClient) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "ReflexLatencyHigh", "remediation": "fallback_tier0"},
        "startsAt": "2026-01-01T00:00:00Z",
        "fingerprint": "fp-console",
    }
    notification = {
        "version": "4", "groupKey": "g", "status": "firing", "receiver": "emily",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
        "alerts": [alert],
    }  # fmt: skip
    acted = client.post("/remediation/alertmanager", json=notification, headers=AUTH)
    assert acted.status_code == 200, acted.text
    record = acted.json()["records"][0]
    frame = ConsoleFrame.model_validate_json(client.get("/console/frame", headers=AUTH).text)
    assert frame.regulator.state == "fallback"
    assert [r.id for r in frame.remediation.records] == [record["id"]]
    assert frame.remediation.active == [record["id"]]


def test_the_console_is_read_only(client: TestClient) -> None:
    for method in ("post", "put", "delete"):
        assert client.request(method, "/console/frame", headers=AUTH).status_code == 405
        assert client.request(method, "/console/stream", headers=AUTH).status_code == 405


def test_a_stream_over_the_viewer_limit_is_refused(runtime: TriuneRuntime) -> None:
    hub = ConsoleHub(runtime, clock=runtime.clock, options=ConsoleOptions(max_viewers=1))
    client = TestClient(create_console_app(hub, TOKEN))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert len(events(client.get("/console/stream?frames=2", headers=AUTH).text)) == 2
    assert hub.viewers == 0  # the finished stream gave its slot back
    hub.join()
    refused = client.get("/console/stream?frames=1", headers=AUTH)
    assert refused.status_code == 503
    assert "1 console streams are open" in refused.json()["detail"]
    assert client.get("/docs").status_code == 404  # the console-only app exposes no API docs
