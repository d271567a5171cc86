"""The HTTP API honours its own OpenAPI document (schemathesis, property-based, in-process).

Every operation gets generated requests (valid and invalid); each response must have a documented
status code, content type and body schema, and no request may cause a server error.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import ApiOptions, create_app
from emily.runtime.loop import TriuneRuntime

DIM = 512
TOKEN = "contract-token"


def _runtime() -> TriuneRuntime:
    clock = ManualClock()
    features = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(features, dim=DIM)
    return TriuneRuntime(
        encoder=encoder,
        reflexes=ReflexMemory(DIM, encoder=encoder, clock=clock),
        attention=AlphaOscillatoryAttention(8.0, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )


# Built at import (schemathesis reads the schema at collection), so it gets its own home folder
# rather than the per-test EMILY_HOME of tests/conftest.py.
HOME = Path(tempfile.mkdtemp(prefix="emily-contract-"))
RUNTIME = _runtime()
APP = create_app(
    RUNTIME,
    load_settings(home=HOME),
    clock=ManualClock(),
    token=TOKEN,
    options=ApiOptions(max_batch=50),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _close_runtime() -> Iterator[None]:
    yield
    RUNTIME.close()
    shutil.rmtree(HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_to_its_schema(case: schemathesis.Case[Any]) -> None:
    # positive_data_acceptance is left out on purpose: some rules cannot be said in JSON Schema
    # (a stimulus has exactly one of features/text; a new flag must be on/off), so a schema-valid
    # request may still be refused with a clear 400/422. Every other default check runs.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
