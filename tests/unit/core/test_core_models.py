from __future__ import annotations

import pydantic
import pytest

from emily.core import SovereignModel


class Stimulus(SovereignModel):
    name: str
    intensity: float


def test_strict_types_are_not_coerced() -> None:
    with pytest.raises(pydantic.ValidationError, match="valid string"):
        Stimulus(name=3, intensity=1.0)  # type: ignore[arg-type]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        Stimulus(name="light", intensity=1.0, colour="red")  # type: ignore[call-arg]


def test_instances_are_frozen_and_hashable() -> None:
    stimulus = Stimulus(name="light", intensity=1.0)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        stimulus.name = "dark"  # type: ignore[misc]
    assert hash(stimulus) == hash(Stimulus(name="light", intensity=1.0))
