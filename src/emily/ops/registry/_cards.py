"""Model cards: a YAML file per model, validated against a schema, with metrics from the run.

Why the card names metrics instead of giving values: a number typed into a card drifts from the
model it describes (the seed's card says ``diversity_score: 0.89`` for a model nobody measured).
Here ``performance_metrics`` lists metric *names*; registration copies their values from the
tracked MLflow run and fails if the run lacks one. The schema is ``ModelCardSpec`` below;
``model_cards/model_card.schema.json`` is generated from it (a test keeps the two in step), and
ships in the package with a template card (``emily/_data/model_cards``) that ``emily init`` copies
into a new home. A card is looked up in ``./model_cards`` (a clone), then in the home.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from emily.core import InputError, SovereignModel
from emily.core.settings import EmilySettings

CARDS_FOLDER = "model_cards"


class ModelCardError(InputError):
    """The model card is missing, malformed, or names metrics the run does not have."""


class ModelCardSpec(SovereignModel):
    """What a researcher writes in ``model_cards/<name>.yaml`` (Mitchell et al. 2019, abridged).

    Attributes:
        name: The registered model this card describes (must match the registration).
        version: The card's own version, bumped when the text changes.
        date: When the card was last reviewed.
        intended_use: What the model is for, and who should use it.
        limitations: Known failure modes and conditions where it must not be trusted.
        ethical_considerations: Risks of misuse or harm, and the safeguards expected.
        performance_metrics: Names of metrics of the training run to publish with the card
            (e.g. ``loss``, ``diversity``); values are copied from the run, never typed in.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    version: str = Field(min_length=1)
    date: dt.date
    intended_use: str = Field(min_length=1)
    limitations: list[str] = Field(min_length=1)
    ethical_considerations: list[str] = Field(min_length=1)
    performance_metrics: list[str] = Field(min_length=1)


class ModelCard(SovereignModel):
    """A card whose metric names were resolved against a tracked run."""

    spec: ModelCardSpec
    run_id: str
    metrics: dict[str, float]


def card_json_schema() -> dict[str, Any]:
    """The JSON Schema of a card file, for editors and for ``model_card.schema.json``."""
    schema = ModelCardSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$comment"] = "Generated from emily.ops.registry.ModelCardSpec; do not edit by hand."
    return schema


def _typed_in_numbers(metrics: object) -> list[str]:
    """Metric entries that carry a value instead of a name (the mistake the schema forbids)."""
    if isinstance(metrics, Mapping):
        return [f"{k}: {v}" for k, v in metrics.items()]
    if isinstance(metrics, list):
        return [str(m) for m in metrics if isinstance(m, int | float | Mapping)]
    return []


def parse_card(text: str, *, source: str = "<card>") -> ModelCardSpec:
    """Validate card YAML text, raising ``ModelCardError`` that names each problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ModelCardError(f"model card {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ModelCardError(f"model card {source} must be a YAML mapping of fields")
    typed = _typed_in_numbers(data.get("performance_metrics"))
    if typed:
        raise ModelCardError(
            f"model card {source}: performance_metrics must name metrics of the tracked run "
            f"(e.g. '- diversity'), not give values ({', '.join(typed)}); values are copied "
            "from the run at registration"
        )
    try:
        return ModelCardSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'card'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ModelCardError(f"model card {source} is invalid: {problems}") from None


def load_card(path: Path) -> ModelCardSpec:
    """Read and validate ``path``; a missing file is a clear error, not a silent default."""
    if not path.is_file():
        raise ModelCardError(
            f"model card {path} not found: every registered model needs a card "
            "(copy EMILY_HOME/model_cards/emily-gflownet.yaml, written by `emily init`; "
            "schema: model_card.schema.json)"
        )
    return parse_card(path.read_text(encoding="utf-8"), source=str(path))


def default_card_path(name: str, settings: EmilySettings) -> Path:
    """Where the card of model ``name`` is when ``--card`` is not given.

    ``./model_cards/NAME.yaml`` when it exists (a clone keeps its cards there), else
    ``EMILY_HOME/model_cards/NAME.yaml`` (``emily init`` puts the template there), so training
    and registering work from any folder once the home has the card.
    """
    local = Path(CARDS_FOLDER) / f"{name}.yaml"
    return local if local.is_file() else settings.path(CARDS_FOLDER, f"{name}.yaml")


def resolve_card(
    spec: ModelCardSpec, *, run_id: str, run_metrics: Mapping[str, float]
) -> ModelCard:
    """Copy the named metrics' final values from the run; any name the run lacks is an error."""
    missing = [name for name in spec.performance_metrics if name not in run_metrics]
    if missing:
        have = ", ".join(sorted(run_metrics)) or "none"
        raise ModelCardError(
            f"model card {spec.name!r} names metrics the run {run_id} did not log: "
            f"{', '.join(missing)} (the run has: {have})"
        )
    metrics = {name: float(run_metrics[name]) for name in spec.performance_metrics}
    return ModelCard(spec=spec, run_id=run_id, metrics=metrics)
