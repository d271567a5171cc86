"""Where stimuli come from: JSON lines, CSV, standard input, or the built-in demo stream.

A stimulus is a mapping of named features (numbers or categories) or a short text, with an id,
an optional salience (the amplitude the alpha gate sees) and an optional label (the response a
teacher confirms, used to learn reflexes). Every source yields validated ``Stimulus`` records;
a malformed line stops with its line number and what was expected, before anything is stored.

The demo stream replays the UCI wine recognition data (178 wines, 13 chemical measurements,
3 cultivars) that ships inside scikit-learn, with measurement noise, so the same wines recur
and reflexes have something to learn: Forina et al., "PARVUS" (1988), via the UCI repository.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError, model_validator

from emily.core import InputError, SovereignModel

FeatureValue = float | str


class Stimulus(SovereignModel):
    """One input to Emily: features or a text, with optional salience and teaching label."""

    id: str = Field(min_length=1, max_length=256)
    features: dict[str, FeatureValue] | None = None
    text: str | None = Field(default=None, max_length=10_000)
    salience: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    label: str | None = Field(default=None, max_length=1_000)

    @model_validator(mode="after")
    def _one_payload(self) -> Stimulus:
        if (self.features is None) == (self.text is None):
            raise ValueError("a stimulus carries exactly one of 'features' or 'text'")
        if self.features is not None:
            if not self.features:
                raise ValueError("'features' is empty: expected at least one named feature")
            bad = [
                k for k, v in self.features.items() if isinstance(v, float) and not math.isfinite(v)
            ]
            if bad:
                raise ValueError(f"features {bad} are NaN or infinite: expected finite numbers")
        return self

    @property
    def payload(self) -> dict[str, FeatureValue] | str:
        """What the instinct encoder takes: the feature mapping or the text."""
        return self.features if self.features is not None else str(self.text)


def _validated(record: Any, where: str) -> Stimulus:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    try:
        return Stimulus.model_validate(record, strict=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"{where}: invalid stimulus ({problems})") from None


def read_jsonl(lines: Iterable[str], source: str = "<stdin>") -> Iterator[Stimulus]:
    """Stimuli from JSON lines (blank lines skipped); errors name ``source:line``."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}:{number}: not valid JSON ({exc.msg})") from None
        yield _validated(record, f"{source}:{number}")


_RESERVED = {"id", "salience", "label", "text"}


def read_csv(handle: Iterable[str], source: str = "<csv>") -> Iterator[Stimulus]:
    """Stimuli from a CSV with a header: ``id``, optional ``salience``/``label``/``text``, and
    every other column a feature (numbers where they parse, categories otherwise)."""
    reader = csv.DictReader(handle)
    if reader.fieldnames is None or "id" not in reader.fieldnames:
        raise InputError(f"{source}: expected a header row with an 'id' column")
    for number, row in enumerate(reader, start=2):
        record: dict[str, Any] = {k: v for k, v in row.items() if k in _RESERVED and v != ""}
        if "salience" in record:
            record["salience"] = _number(record["salience"], f"{source}:{number} salience")
        features = {k: _feature(v) for k, v in row.items() if k not in _RESERVED}
        if features and "text" not in record:
            record["features"] = features
        yield _validated(record, f"{source}:{number}")


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number") from None


def _feature(text: str | None) -> FeatureValue:
    if text is None:
        raise InputError("CSV row has fewer cells than the header")
    try:
        return float(text)
    except ValueError:
        return text


def read_path(path: Path) -> Iterator[Stimulus]:
    """Stimuli from a ``.jsonl``/``.json`` or ``.csv`` file, chosen by suffix."""
    if not path.is_file():
        raise InputError(f"stimulus file {path} does not exist")
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8", newline="") as handle:
        if suffix in {".jsonl", ".json", ".ndjson"}:
            yield from read_jsonl(handle, str(path))
        elif suffix == ".csv":
            yield from read_csv(handle, str(path))
        else:
            raise InputError(f"{path}: unknown stimulus format {suffix!r}; expected .jsonl or .csv")


class DemoDataset(SovereignModel):
    """The wine data as the demo uses it: feature names, ranges, rows and cultivar labels."""

    feature_names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    rows: tuple[tuple[float, ...], ...]
    labels: tuple[str, ...]


def demo_dataset() -> DemoDataset:
    """Load the wine data from scikit-learn's package data (no download)."""
    from sklearn.datasets import load_wine

    wine = load_wine()
    names = tuple(n.replace("/", "_") for n in wine.feature_names)
    data = np.asarray(wine.data, dtype=np.float64)
    return DemoDataset(
        feature_names=names,
        low=tuple(float(v) for v in data.min(axis=0)),
        high=tuple(float(v) for v in data.max(axis=0)),
        rows=tuple(tuple(float(v) for v in row) for row in data),
        labels=tuple(str(wine.target_names[t]) for t in wine.target),
    )


def demo_stream(
    dataset: DemoDataset, *, seed: int = 0, noise: float = 0.02, limit: int | None = None
) -> Iterator[Stimulus]:
    """Wines drawn at random (so they recur), each measurement jittered by ``noise`` of its
    range, salience drawn from a log-normal so the gate sees weak and strong stimuli."""
    rng = np.random.default_rng(seed)
    span = np.asarray(dataset.high) - np.asarray(dataset.low)
    rows = np.asarray(dataset.rows)
    count = 0
    while limit is None or count < limit:
        index = int(rng.integers(len(rows)))
        values = rows[index] + rng.normal(0.0, noise, size=span.shape) * span
        values = np.clip(values, dataset.low, dataset.high)
        yield Stimulus(
            id=f"wine-{count}",
            features={n: float(v) for n, v in zip(dataset.feature_names, values, strict=True)},
            salience=float(min(rng.lognormal(0.0, 0.5), 10.0)),
            label=dataset.labels[index],
        )
        count += 1


def parse_stimuli(text: str, source: str = "<text>") -> list[Stimulus]:
    """All stimuli in a JSON-lines string (used by the HTTP API and tests)."""
    return list(read_jsonl(io.StringIO(text), source))
