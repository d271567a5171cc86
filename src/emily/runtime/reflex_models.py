"""What ``emily learn`` leaves for ``eval`` and ``run``: a card per reflex model of a schema.

A home's schema version learns into reflex tables of its own; each *model kind* has one:

* ``exemplar``: every labelled stimulus is a reflex (nearest neighbour over exemplars);
* ``prototype``: a few bundled prototypes per class (OnlineHD-style retraining), bounded memory.

The card records the table, the calibrated hit threshold (a miss must mean *novel*, so the
threshold is measured on the data, never a constant), the classes learned, and which files
taught it. The most recently learned card is the home's active model; ``--model`` picks another.
Cards are small JSON files under ``EMILY_HOME/models/reflex/``, written atomically.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from emily.core import InputError, SovereignModel
from emily.instinct import ThresholdCalibration
from emily.runtime.schema_store import HomeSchema

ModelKind = Literal["exemplar", "prototype"]
MODEL_KINDS: tuple[ModelKind, ...] = ("exemplar", "prototype")
UNCALIBRATED_THRESHOLD = 0.75
"""The hit threshold before ``emily learn`` calibrated one (the demo's): 50 standard deviations
above chance at D = 10,000, too lax for records with many features (ADR 0014)."""

CARD_DIR = ("models", "reflex")


class ReflexModelCard(SovereignModel):
    """One learned reflex model of one schema version."""

    schema_name: str
    schema_version: int = Field(ge=1)
    kind: ModelKind
    table: str
    threshold: float = Field(gt=0.5, le=1.0)
    calibration: ThresholdCalibration | None
    """How the threshold was measured (``None``: too few stimuli; only exact matches hit)."""
    prototypes: int | None = None
    bytes_per_class: float | None = None
    classes: tuple[str, ...]
    learned_from: tuple[str, ...]
    reflexes: int = Field(ge=0)
    updated_at: datetime


def table_for(schema: HomeSchema, kind: ModelKind) -> str:
    """The LanceDB table of ``kind``'s reflexes under ``schema`` (exemplars keep the schema's)."""
    return schema.reflex_table if kind == "exemplar" else f"{schema.reflex_table}_{kind}"


class ReflexModels:
    """The cards of a home (``EMILY_HOME/models/reflex/<schema>.v<N>.<kind>.json``)."""

    def __init__(self, home: Path) -> None:
        self.folder = home.joinpath(*CARD_DIR)

    def _path(self, schema: HomeSchema, kind: ModelKind) -> Path:
        return self.folder / f"{schema.name}.v{schema.version}.{kind}.json"

    def get(self, schema: HomeSchema, kind: ModelKind) -> ReflexModelCard | None:
        """The card of ``kind`` under ``schema``, if that model was learned."""
        path = self._path(schema, kind)
        if not path.is_file():
            return None
        try:
            return ReflexModelCard.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as exc:
            raise InputError(
                f"{path} is not a valid reflex model card ({exc.__class__.__name__}); "
                f"run `emily learn FILE --model {kind}` again to rewrite it"
            ) from None

    def active(self, schema: HomeSchema, kind: ModelKind | None = None) -> ReflexModelCard | None:
        """``kind``'s card, or (``None``) the most recently learned one under ``schema``."""
        if kind is not None:
            return self.get(schema, kind)
        cards = [c for k in MODEL_KINDS if (c := self.get(schema, k)) is not None]
        return max(cards, key=lambda c: c.updated_at, default=None)

    def save(self, card: ReflexModelCard, schema: HomeSchema) -> Path:
        """Write ``card`` atomically (a crash leaves the old card or the new one, never half)."""
        path = self._path(schema, card.kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(card.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return path
