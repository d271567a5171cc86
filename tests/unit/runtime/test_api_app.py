"""The HTTP API over an in-memory runtime: auth, limits, validation, state, flags, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from filelock import FileLock

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.ops.flags import _store as flags_store
from emily.ops.flags import lock_path
from emily.runtime.api import ApiOptions, create_app, log_path
from emily.runtime.loop import TriuneRuntime
from emily.runtime.schema_store import HomeSchema, conform

DIM = 1024
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_runtime(clock: ManualClock) -> TriuneRuntime:
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    return TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock, alpha_power=0.0),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )


@pytest.fixture
def runtime() -> Iterator[TriuneRuntime]:
    rt = make_runtime(ManualClock())
    yield rt
    rt.close()


def client_for(runtime: TriuneRuntime, **options: object) -> TestClient:
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    app = create_app(
        runtime,
        settings,
        clock=ManualClock(),
        token=TOKEN,
        options=ApiOptions.model_validate(options),
    )
    return TestClient(app)


@pytest.fixture
def client(runtime: TriuneRuntime) -> TestClient:
    return client_for(runtime)


STIMULUS = {"id": "s1", "features": {"x": 0.5}, "label": "half"}


def test_protected_endpoints_need_the_token(client: TestClient) -> None:
    for method, path in [("get", "/state"), ("get", "/flags"), ("get", "/remediation")]:
        assert client.request(method, path).status_code == 401
        wrong = client.request(method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "EMILY_HOME/api-token" in wrong.json()["detail"]
        assert client.request(method, path, headers=AUTH).status_code == 200
    assert client.post("/stimuli", json=STIMULUS).status_code == 401


def test_health_and_metrics_are_open_by_default_and_can_be_protected(
    runtime: TriuneRuntime,
) -> None:
    client = client_for(runtime)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200
    protected = client_for(runtime, protect_metrics=True)
    assert protected.get("/metrics").status_code == 401
    assert protected.get("/metrics", headers=AUTH).status_code == 200
    assert protected.get("/healthz").status_code == 200


def test_a_stimulus_is_answered_and_counted(client: TestClient) -> None:
    answer = client.post("/stimuli", json=STIMULUS, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stimulus_id"] == "s1"
    state = client.get("/state", headers=AUTH).json()
    assert sum(state["tiers"].values()) == 1
    assert state["latency"]["count"] == 1
    assert state["regulator"]["state"] in {"processing", "resting"}
    assert "frequency_hz" in state["alpha"]
    metrics = client.get("/metrics").text
    assert "emily_gate_signals_total" in metrics
    assert "emily_alpha_power" in metrics


def test_a_batch_is_answered_in_order(client: TestClient) -> None:
    stimuli = [{"id": f"s{i}", "features": {"x": i / 10}} for i in range(5)]
    response = client.post("/stimuli/batch", json={"stimuli": stimuli}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert [a["stimulus_id"] for a in response.json()["answers"]] == [s["id"] for s in stimuli]


def test_an_invalid_stimulus_says_what_is_wrong(client: TestClient) -> None:
    response = client.post("/stimuli", json={"id": "bad"}, headers=AUTH)
    assert response.status_code == 422
    assert "exactly one of 'features' or 'text'" in response.text


def test_a_batch_with_one_bad_stimulus_handles_none(
    client: TestClient, runtime: TriuneRuntime
) -> None:
    stimuli = [STIMULUS, {"id": "bad", "features": {}}]
    response = client.post("/stimuli/batch", json={"stimuli": stimuli}, headers=AUTH)
    assert response.status_code == 422
    assert runtime.snapshot()[0] == {}


def test_a_batch_over_the_count_limit_is_refused(runtime: TriuneRuntime) -> None:
    client = client_for(runtime, max_batch=3)
    stimuli = [{"id": f"s{i}", "features": {"x": 0.1}} for i in range(4)]
    response = client.post("/stimuli/batch", json={"stimuli": stimuli}, headers=AUTH)
    assert response.status_code == 400
    assert "at most 3" in response.json()["detail"]
    assert runtime.snapshot()[0] == {}


def test_a_body_over_the_size_limit_is_refused_with_413(runtime: TriuneRuntime) -> None:
    client = client_for(runtime, max_body_bytes=1000)
    big = {"id": "big", "text": "x" * 2000}
    response = client.post("/stimuli", json=big, headers=AUTH)
    assert response.status_code == 413
    assert "limit is 1000 bytes" in response.json()["detail"]
    chunked = client.post(
        "/stimuli", content=iter([json.dumps(big).encode()]), headers=AUTH
    )  # no Content-Length: the streamed bytes are counted
    assert chunked.status_code == 413
    assert runtime.snapshot()[0] == {}


def test_flags_are_read_and_set_through_the_flags_file(client: TestClient) -> None:
    flags = client.get("/flags", headers=AUTH).json()
    assert "enable_gflownet_v2" in flags["flags"]
    response = client.put("/flags/new_thing", json={"variant": "on"}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["default_variant"] == "on"
    assert "new_thing" in (load_settings().home / "flags.yaml").read_text()
    refused = client.put("/flags/other", json={"variant": "purple"}, headers=AUTH)
    assert refused.status_code == 400
    assert "on or off" in refused.json()["detail"]
    assert "other" not in (load_settings().home / "flags.yaml").read_text()


def test_a_flag_write_that_finds_the_lock_held_is_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock timeout is "busy, try again", not a bad request: nothing was written."""
    monkeypatch.setattr(flags_store, "LOCK_TIMEOUT_S", 0.2)
    path = load_settings().home / "flags.yaml"
    with FileLock(lock_path(path)):  # another writer holds the flags file
        busy = client.put("/flags/held", json={"variant": "on"}, headers=AUTH)
    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "1"
    assert "try again" in busy.json()["detail"]
    assert "held" not in client.get("/flags", headers=AUTH).json()["flags"]
    assert client.put("/flags/held", json={"variant": "on"}, headers=AUTH).status_code == 200


def test_readiness_reports_each_check(runtime: TriuneRuntime) -> None:
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    ready = client_for(runtime).get("/readyz", headers=AUTH)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"home": "ok", "reflex_store": "ok"}
    app = create_app(
        runtime,
        settings,
        clock=ManualClock(),
        token=TOKEN,
        readiness={"store": lambda: "store is down"},
    )
    not_ready = TestClient(app).get("/readyz", headers=AUTH)
    assert not_ready.status_code == 503
    assert not_ready.json() == {"ready": False, "checks": {"store": "store is down"}}


def test_diagnostics_and_hypotheses(client: TestClient) -> None:
    diagnostics = client.get("/diagnostics", headers=AUTH).json()
    assert diagnostics["cognition_enabled"] is False
    assert diagnostics["active_remediations"] == 0
    assert client.get("/hypotheses", headers=AUTH).json() == {"batches": []}


def test_webhook_forces_fallback_and_revert_releases_it(
    client: TestClient, runtime: TriuneRuntime
) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "ReflexLatencyCritical", "remediation": "fallback_tier0"},
        "annotations": {},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": "abc123",
    }
    body = {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "emily-remediation",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am",
        "alerts": [alert],
    }
    response = client.post("/remediation/alertmanager", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    (record,) = response.json()["records"]
    assert str(runtime.regulator.state) == "fallback"
    again = client.post("/remediation/alertmanager", json=body, headers=AUTH).json()
    assert again["records"] == []
    assert again["skipped"]
    revert = client.post(f"/remediation/{record['id']}/revert", headers=AUTH)
    assert revert.status_code == 200, revert.text
    assert str(runtime.regulator.state) != "fallback"
    assert client.post(f"/remediation/{record['id']}/revert", headers=AUTH).status_code == 409
    assert client.post("/remediation/nope/revert", headers=AUTH).status_code == 404
    log = client.get("/remediation", headers=AUTH).json()
    assert [r["outcome"] for r in log["records"]] == ["applied", "reverted"]
    assert log["active"] == []
    assert log_path(load_settings().home).is_file()
    assert (
        'emily_remediation_actions_total{action="fallback_tier0"} 1.0'
        in client.get("/metrics").text
    )


def test_an_unknown_webhook_field_is_refused(client: TestClient) -> None:
    response = client.post(
        "/remediation/alertmanager", json={"version": "4", "surprise": 1}, headers=AUTH
    )
    assert response.status_code == 422
    assert "surprise" in response.text


def test_the_token_file_is_created_when_no_token_is_given(runtime: TriuneRuntime) -> None:
    settings = load_settings()
    app = create_app(runtime, settings, clock=ManualClock())
    token = (settings.home / "api-token").read_text()
    client = TestClient(app)
    assert client.get("/state", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert (Path(settings.home) / "api-token").stat().st_mode & 0o777 == 0o600


def test_readiness_fails_when_the_reflex_store_is_unreachable(
    runtime: TriuneRuntime, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's parent folder should be")
    settings = load_settings(lancedb_uri=str(blocker / "lancedb"))
    settings.home.mkdir(parents=True, exist_ok=True)
    app = create_app(runtime, settings, clock=ManualClock(), token=TOKEN)
    response = TestClient(app).get("/readyz", headers=AUTH)
    assert response.status_code == 503
    assert response.json()["checks"]["reflex_store"].startswith("reflex store at")
    assert response.json()["checks"]["home"] == "ok"


def test_live_stimuli_are_conformed_to_the_home_schema(runtime: TriuneRuntime) -> None:
    schema = HomeSchema(
        name="t",
        version=1,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        source="t.csv",
        kind="records",
        features=runtime.encoder.schema,
    )
    runtime.conform = lambda stimulus: conform(stimulus, schema).stimulus
    client = client_for(runtime)
    far = client.post("/stimuli", json={"id": "far", "features": {"x": 7.5}}, headers=AUTH)
    assert far.status_code == 200, far.text  # out of range: clamped, answered
    new = client.post("/stimuli", json={"id": "n", "features": {"x": 0.5, "y": 1}}, headers=AUTH)
    assert new.status_code == 400
    assert "'y'" in new.json()["detail"]
    batch = {"stimuli": [{"id": "a", "features": {"x": 0.2}}, {"id": "b", "features": {"z": 1}}]}
    refused = client.post("/stimuli/batch", json=batch, headers=AUTH)
    assert refused.status_code == 400
    assert "stimuli[1]" in refused.json()["detail"]
