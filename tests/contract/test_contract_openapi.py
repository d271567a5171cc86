"""The HTTP API honours its own OpenAPI document (schemathesis, property-based, in-process).

Every operation gets generated requests (valid and invalid); each response must have a documented
status code, content type and body schema, and no request may cause a server error.

The alpha gate is held open (its phase reset to the trough, on a clock that never moves), so the
stimulus operations answer through the reflex tier and schemathesis validates real answers, not
only ``suppressed`` ones. The stimulus tests count the tiers of the answers they validated and
fail if none passed the gate, so a runtime that suppresses everything cannot pass them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.instinct import NumericFeature, ReflexMemory, StimulusEncoder, StimulusSchema
from emily.nervous_system import AlphaOscillatoryAttention, Regulator, RegulatorConfig
from emily.runtime.api import ApiOptions, create_app
from emily.runtime.loop import TriuneRuntime

DIM = 512
TOKEN = "contract-token"
FREQUENCY_HZ = 8.0
HALF_PERIOD_S = 0.5 / FREQUENCY_HZ  # the trough (open) to the peak (closed), at alpha power 1
OPEN_TIERS = frozenset({"instinct", "none"})  # answers that passed the gate
KNOWN_TEXT = "a stimulus the reflexes know"
KNOWN_RESPONSE = "known"
UNSEEN_TEXT = "zq9 nothing generated or taught looks like this vj7"  # far from any reflex
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]


def _runtime(clock: ManualClock) -> TriuneRuntime:
    features = StimulusSchema(features={"x": NumericFeature(low=0.0, high=1.0)})
    encoder = StimulusEncoder(features, dim=DIM)
    reflexes = ReflexMemory(DIM, encoder=encoder, clock=clock)
    reflexes.learn(KNOWN_TEXT, KNOWN_RESPONSE)  # so an instinct hit's body is validated too
    return TriuneRuntime(
        encoder=encoder,
        reflexes=reflexes,
        attention=AlphaOscillatoryAttention(FREQUENCY_HZ, clock=clock),
        regulator=Regulator(RegulatorConfig(), clock=clock),
        clock=clock,
    )


def _open_gate() -> None:
    """Put the oscillator at the trough (gain 1) now; the clock does not move, so it stays there.

    Called again before each stimulus test: a generated remediation (``recalibrate_phase``) may
    have put it back on the peak.
    """
    RUNTIME.attention.reset_phase()


# Built at import (schemathesis reads the schema at collection), so it gets its own home folder
# rather than the per-test EMILY_HOME of tests/conftest.py.
HOME = Path(tempfile.mkdtemp(prefix="emily-contract-"))
CLOCK = ManualClock()
RUNTIME = _runtime(CLOCK)
_open_gate()
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


def _call_and_validate(case: schemathesis.Case[Any]) -> Any:
    """Call the app and run every default check but one; returns the response.

    positive_data_acceptance is left out on purpose: some rules cannot be said in JSON Schema
    (a stimulus has exactly one of features/text; a new flag must be on/off), so a schema-valid
    request may still be refused with a clear 400/422. Every other default check runs.
    """
    return case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def _tiers(response: Any) -> list[str]:
    """The tier of each answer in a validated 200 response of a stimulus operation."""
    if response.status_code != 200:
        return []
    body = response.json()
    answers = body.get("answers", [body])
    return [str(answer["tier"]) for answer in answers]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
def test_every_operation_conforms_to_its_schema(case: schemathesis.Case[Any]) -> None:
    _call_and_validate(case)


def _one_payload(stimulus: Any) -> Any:
    """A generated stimulus with exactly one payload: its own text if it has one, else its id.

    JSON Schema cannot say "exactly one of features/text" nor the home's feature names, so almost
    every generated stimulus is refused (400/422), and a batch, refused whole for one bad item,
    next to never reaches the gate. Everything else the generator drew (id, salience, label,
    timestamp, the batch's length) is kept, and each of those shapes the answer's body.
    """
    if not isinstance(stimulus, dict):
        return stimulus
    text = stimulus.get("text")
    kept = {k: v for k, v in stimulus.items() if k not in ("features", "text")}
    return {**kept, "text": text if isinstance(text, str) and text else str(stimulus.get("id"))}


def _answerable(case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """``case`` with each stimulus of its body given one payload (see ``_one_payload``)."""
    body = case.body
    if not isinstance(body, dict):
        return case
    stimuli = body.get("stimuli")
    if isinstance(stimuli, list):
        case.body = {**body, "stimuli": [_one_payload(s) for s in stimuli]}
    else:
        case.body = _one_payload(body)
    return case


@pytest.mark.parametrize("path", ["/stimuli", "/stimuli/batch"])
def test_generated_stimuli_get_open_gate_answers_that_conform(path: str) -> None:
    """Generated stimuli reach the reflex tier, and those answers' bodies match the schema."""
    _open_gate()
    seen: Counter[str] = Counter()

    @given(case=schema[path]["POST"].as_strategy().map(_answerable))
    @settings(max_examples=40, deadline=None, suppress_health_check=HEALTH, database=None)
    def validate(case: schemathesis.Case[Any]) -> None:
        seen.update(_tiers(_call_and_validate(case)))

    validate()
    assert sum(seen[tier] for tier in OPEN_TIERS) > 0, f"no open-gate answer validated: {seen}"


def test_each_tier_of_answer_conforms_to_its_schema() -> None:
    """A hit, a miss and (with the gate shut) a suppressed answer, each validated by schemathesis.

    Generated texts almost never hit a stored reflex, so the hit is asked for by name; the miss
    is a text (the other tests teach labelled generated stimuli, features near ``x`` among them).
    """
    _open_gate()
    operation = schema["/stimuli"]["POST"]
    hit = _call_and_validate(operation.Case(body={"id": "hit", "text": KNOWN_TEXT}))
    miss = _call_and_validate(operation.Case(body={"id": "miss", "text": UNSEEN_TEXT}))
    CLOCK.advance(HALF_PERIOD_S)  # trough -> peak
    try:
        shut = _call_and_validate(operation.Case(body={"id": "shut", "text": KNOWN_TEXT}))
    finally:
        _open_gate()
    assert [_tiers(r) for r in (hit, miss, shut)] == [["instinct"], ["none"], ["suppressed"]]
    assert hit.json()["response"] == KNOWN_RESPONSE
