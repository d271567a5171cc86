"""Every route refuses NaN, infinities and lone surrogates with a 4xx one-line error, never a 500.

Python's ``json`` accepts ``NaN``, ``Infinity``, ``-Infinity``, ``1e999`` (which overflows to
``inf``) and ``"\\ud800"`` (a lone surrogate); none of them can be written back as JSON or UTF-8,
so a validation error that echoed them, or a record that held them, used to end in a 500 and a
reset connection. The routes are walked from the app itself, so a new route is covered (and
needs a valid example body here) the day it is added.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import create_app, log_path
from emily.runtime.loop import TriuneRuntime

DIM = 256
TOKEN = "bad-values-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PLACEHOLDER = "__BAD__"
BAD_VALUES = {  # name: (raw JSON text, the same in a URL as a client percent-encodes it)
    "nan": ("NaN", "NaN"),
    "infinity": ("Infinity", "Infinity"),
    "minus-infinity": ("-Infinity", "-Infinity"),
    "overflow": ("1e999", "1e999"),
    "lone-surrogate": ('"\\ud800"', "%ED%A0%80"),  # the surrogate's (invalid) UTF-8 bytes
    "lone-low-surrogate": ('"ok \\udfff"', "ok%20%ED%BF%BF"),
}
ALERT = {
    "status": "firing",
    "labels": {"alertname": "ReflexLatencyCritical", "remediation": "adjust_gain"},
    "annotations": {"summary": "slow"},
    "startsAt": "2026-01-01T00:00:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prom",
    "fingerprint": "abc123",
}
BODIES: dict[str, Any] = {  # a valid body for every route that takes one
    "POST /stimuli": {"id": "s1", "features": {"x": 0.5}, "label": "half", "salience": 1.0},
    "POST /stimuli/batch": {"stimuli": [{"id": "s1", "features": {"x": 0.5}, "timestamp": 1.0}]},
    "PUT /flags/{name}": {"variant": "on", "percent": 50.0, "enabled": True},
    "POST /remediation/alertmanager": {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "emily-remediation",
        "groupLabels": {"alertname": "ReflexLatencyCritical"},
        "commonLabels": {"alertname": "ReflexLatencyCritical"},
        "commonAnnotations": {"summary": "slow"},
        "externalURL": "http://am",
        "alerts": [ALERT],
    },
}
PATH_VALUES = {"name": "enable_gflownet_v2", "action_id": "abc123"}


def _runtime(clock: ManualClock) -> TriuneRuntime:
    schema = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(schema, dim=DIM)
    return TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of the app's OpenAPI document, read at collection (in a throwaway home,
    not the per-test one): method, path template and the operation."""
    clock = ManualClock()
    runtime = _runtime(clock)
    try:
        with tempfile.TemporaryDirectory(prefix="emily-routes-") as home:
            app = create_app(runtime, load_settings(home=Path(home)), clock=clock, token=TOKEN)
            document = app.openapi()
    finally:
        runtime.close()
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _url(path: str, **values: str) -> str:
    return path.format(**{**PATH_VALUES, **values})


def _leaves(value: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in ``value`` a scalar sits (mapping keys are covered by ``_key_cases``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*where, index))
    else:
        yield where


def _replaced(value: Any, where: tuple[str | int, ...], new: Any) -> Any:
    if not where:
        return new
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = new
    return copy


def _cases() -> Iterator[Any]:
    operations = _operations()
    assert len(operations) >= 10  # the walk found the routes
    for method, path, operation in operations:
        key = f"{method} {path}"
        path_params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        for name, (raw, in_url) in BAD_VALUES.items():
            if "requestBody" in operation:
                for where in _leaves(BODIES[key]):
                    dotted = ".".join(str(p) for p in where)
                    text = json.dumps(_replaced(BODIES[key], where, PLACEHOLDER))
                    body = text.replace(json.dumps(PLACEHOLDER), raw)
                    yield pytest.param(
                        method, _url(path), body, ("body", *where), id=f"{key} body.{dotted}={name}"
                    )
            for param in path_params:
                url = _url(path, **{param: in_url})
                yield pytest.param(method, url, None, ("path", param), id=f"{key} {param}={name}")
            yield pytest.param(
                method, f"{_url(path)}?x={in_url}", None, ("query", "x"), id=f"{key} ?x={name}"
            )


def _key_cases() -> Iterator[Any]:
    """A lone surrogate as a mapping key (features, labels, annotations)."""
    stimulus = '{"id": "s1", "features": {"\\ud800": 0.5}}'
    yield pytest.param("POST", "/stimuli", stimulus, ("body", "features"), id="feature-key")
    notification = _replaced(
        BODIES["POST /remediation/alertmanager"], ("alerts", 0, "annotations"), {PLACEHOLDER: "x"}
    )
    alert = json.dumps(notification).replace(json.dumps(PLACEHOLDER), '"\\udc80"')
    assert "\\udc80" in alert
    yield pytest.param(
        "POST", "/remediation/alertmanager", alert, ("body", "alerts", 0, "annotations"), id="ann"
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emily-home")


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[tuple[TestClient, TriuneRuntime]]:
    """One app for every case: each case checks it left nothing behind, so none can taint the
    next (and a few hundred apps would make the test slow on a small machine)."""
    clock = ManualClock()
    runtime = _runtime(clock)
    app = create_app(runtime, load_settings(home=home), clock=clock, token=TOKEN)
    with TestClient(app) as client:
        yield client, runtime
    runtime.close()


@pytest.mark.parametrize(("method", "path", "body", "where"), [*_cases(), *_key_cases()])
def test_bad_numbers_and_lone_surrogates_are_refused_without_a_500(
    api: tuple[TestClient, TriuneRuntime],
    home: Path,
    method: str,
    path: str,
    body: str | None,
    where: tuple[str | int, ...],
) -> None:
    client, runtime = api
    flags_before = client.get("/flags", headers=AUTH).json()
    gain, state = runtime.attention.alpha_power_gain, str(runtime.regulator.state)
    url = path
    if body is None:
        response = client.request(method, url, headers=AUTH)
    else:
        response = client.request(
            method,
            url,
            content=body.encode("utf-8"),
            headers={**AUTH, "Content-Type": "application/json"},
        )

    assert response.status_code < 500, response.text
    if body is not None:
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert "\n" not in detail
        assert ".".join(str(p) for p in where) in detail  # where
        assert "expected" in detail  # and what was expected
    elif response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)
    # Nothing was stored or changed.
    assert client.get("/flags", headers=AUTH).json() == flags_before
    assert not (home / "flags.yaml").exists()
    assert runtime.snapshot()[0] == {}  # no stimulus reached the loop
    assert runtime.attention.alpha_power_gain == gain
    assert str(runtime.regulator.state) == state
    assert not log_path(home).exists()
