"""One schema per home: learn from ``train.csv``, then answer ``test.csv`` with the same encoder.

The instinct encoder (and so every reflex) is a function of ``(dim, seed, schema)``. Inferring
the schema per file gave each file its own encoder, so reflexes learned from one file could not
answer another (issue 14). Here the schema is inferred once, stored in ``EMILY_HOME/schema/``
as a numbered version, and every later file is *conformed* to it:

* a number outside the schema's ``[low, high]`` is clamped to the nearest end and counted;
* a category never seen at inference becomes :data:`UNKNOWN` (a reserved category of every
  categorical feature) and is counted;
* a new column, a missing column, or text where the schema expects a number is a real change of
  data: one :class:`~emily.core.InputError` names every such column and says how to extend the
  schema (``emily schema infer FILE --new-version``, which makes version N+1).

A version is immutable once saved (only its calibration may be filled in later), and each
version learns into its own reflex table (:attr:`HomeSchema.reflex_table`), so a new version
never overwrites or misreads the reflexes learned under an older one.

Numbers in a categorical column are compared as text: an integral number by its integer text
(``1.0`` → ``"1"``), any other by Python's shortest float text (``0.5`` → ``"0.5"``).
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator

from emily.core import Clock, InputError, SovereignModel
from emily.instinct import CategoricalFeature, NumericFeature, StimulusSchema
from emily.runtime.stimuli import LABEL, FeatureValue, Stimulus

UNKNOWN = "<unknown>"
"""The reserved category every categorical feature has: what an unseen category becomes."""

MARGIN = 0.1
"""Numeric ranges are widened by this fraction of the observed span on each side."""

MIN_SPAN = 1e-9
"""Smallest span a numeric range is widened from, so a constant column still has ``low < high``
and encodes (where ``1e-9`` is below float resolution, the neighbouring floats are used)."""

SCHEMA_DIR = "schema"
CURRENT_FILE = "current.json"
_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
_VERSION_FILE = re.compile(rf"(?P<name>{_NAME})\.v(?P<version>[1-9][0-9]*)\.json")


class HomeSchema(SovereignModel):
    """The features every stimulus of this home carries, one numbered version of them.

    ``features`` is ``None`` exactly when ``kind`` is ``"text"`` (the text encoder needs no
    schema). ``threshold`` and ``calibration`` are filled in after learning
    (:meth:`with_calibration`); they do not change the encoder, so they do not change the version.
    """

    name: str = Field(pattern=rf"^{_NAME}$", description="Schema name (in file and table names).")
    version: int = Field(
        ge=1, description="1, 2, ...: `emily schema infer --new-version` adds one."
    )
    created_at: datetime = Field(description="When it was inferred (timezone-aware).")
    source: str = Field(min_length=1, description="The file it was inferred from.")
    kind: Literal["records", "text"]
    features: StimulusSchema | None
    label_column: str = Field(default=LABEL, min_length=1)
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    calibration: dict[str, float | int | str] | None = None

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at needs a timezone (take it from an emily.core.Clock)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HomeSchema:
        if (self.kind == "text") != (self.features is None):
            raise ValueError("a 'text' schema has no features; a 'records' schema has features")
        for name, spec in (self.features.features if self.features else {}).items():
            if isinstance(spec, CategoricalFeature) and UNKNOWN not in spec.categories:
                raise ValueError(f"categorical feature {name!r} lacks the {UNKNOWN!r} category")
        return self

    @property
    def reflex_table(self) -> str:
        """The LanceDB table this version's reflexes live in (one per name and version)."""
        return f"reflexes_{self.name}_v{self.version}"

    def with_calibration(
        self, threshold: float, details: Mapping[str, float | int | str]
    ) -> HomeSchema:
        """The same version with its answer threshold and how it was calibrated; save it with
        :meth:`SchemaStore.save` (same version, same reflex table, same encoder)."""
        return HomeSchema.model_validate(
            {**dict(self), "threshold": threshold, "calibration": dict(details)}
        )

    def extend_hint(self) -> str:
        """How to move this home to new data, for error messages."""
        return (
            f"if the data has really changed, `emily schema infer FILE --new-version` makes "
            f"v{self.version + 1} from FILE; reflexes learned under v{self.version} stay in table "
            f"{self.reflex_table} (v{self.version + 1} learns into its own table)"
        )


def category_text(value: FeatureValue) -> str:
    """A feature value as the category it is compared by (see the module docstring)."""
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _widened(low: float, high: float) -> tuple[float, float]:
    """``[low, high]`` widened by ``MARGIN`` of the span, the span at least ``MIN_SPAN``."""
    span = max(high - low, MIN_SPAN)
    wide_low, wide_high = low - MARGIN * span, high + MARGIN * span
    if not (math.isfinite(wide_low) and math.isfinite(wide_high)):
        wide_low, wide_high = low, high  # near the float limits: no room to widen
    if not wide_low < wide_high:
        wide_low, wide_high = (
            math.nextafter(wide_low, -math.inf),
            math.nextafter(wide_high, math.inf),
        )
    return wide_low, wide_high


def infer_home_schema(
    stimuli: Iterable[Stimulus],
    *,
    name: str,
    source: str,
    label_column: str = LABEL,
    clock: Clock,
    version: int = 1,
    sample: int | None = None,
) -> HomeSchema:
    """A schema from (the first ``sample`` of) ``stimuli``.

    A column that holds numbers in every record is numeric, its observed range widened by 10 %
    of the span; a column with text in any record is categorical, its categories every value
    seen (numbers by :func:`category_text`) plus :data:`UNKNOWN`. Texts give a ``"text"``
    schema. Every record must carry the same columns, and texts and records do not mix.
    """
    if not re.fullmatch(_NAME, name):
        raise InputError(
            f"schema name {name!r}: expected 1-64 letters, digits, '-' or '_' (it names files "
            "and a reflex table), starting with a letter or digit"
        )
    columns: dict[str, tuple[float, float, set[str], bool]] = {}
    first: Stimulus | None = None
    texts = records = 0
    for stimulus in islice(stimuli, sample):
        if first is None:
            first = stimulus
        if stimulus.features is None:
            texts += 1
        else:
            records += 1
            if records > 1 and stimulus.features.keys() != columns.keys():
                raise InputError(_columns_differ(source, first, stimulus))
            for column, value in stimulus.features.items():
                low, high, seen, numeric = columns.get(column, (math.inf, -math.inf, set(), True))
                seen.add(category_text(value))
                if isinstance(value, str):
                    numeric = False
                else:
                    low, high = min(low, value), max(high, value)
                columns[column] = (low, high, seen, numeric)
        if texts and records:
            raise InputError(
                f"{source}: mixes texts and feature records (stimulus {stimulus.id!r}); "
                "expected one kind per home"
            )
    if first is None:
        raise InputError(f"{source}: no stimuli; expected at least one to infer a schema from")
    features: StimulusSchema | None = None
    if records:
        specs: dict[str, NumericFeature | CategoricalFeature] = {}
        for column, (low, high, seen, numeric) in columns.items():
            if numeric:
                wide_low, wide_high = _widened(low, high)
                specs[column] = NumericFeature(low=wide_low, high=wide_high)
            else:
                specs[column] = CategoricalFeature(categories=(*sorted(seen - {UNKNOWN}), UNKNOWN))
        features = StimulusSchema(features=specs)
    return HomeSchema(
        name=name,
        version=version,
        created_at=clock.now(),
        source=source,
        kind="records" if records else "text",
        features=features,
        label_column=label_column,
    )


def _columns_differ(source: str, first: Stimulus, other: Stimulus) -> str:
    expected, got = set(first.features or {}), set(other.features or {})
    return (
        f"{source}: stimulus {other.id!r} has columns that differ from the first stimulus "
        f"{first.id!r} (extra {sorted(got - expected)}, missing {sorted(expected - got)}); "
        "expected every record to carry the same columns"
    )


@dataclass(frozen=True, slots=True)
class ConformResult:
    """A stimulus conformed to a schema, and which of its features had to be changed."""

    stimulus: Stimulus
    clamped: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


class ConformStats:
    """Counts over many :class:`ConformResult` s, per feature, for a run's summary."""

    def __init__(self) -> None:
        self.records = 0
        self.clamped: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()

    def add(self, result: ConformResult) -> ConformResult:
        """Count ``result`` and hand it back (``stats.add(conform(s, schema)).stimulus``)."""
        self.records += 1
        if result.clamped:
            self.clamped.update(result.clamped)
        if result.unknown:
            self.unknown.update(result.unknown)
        return result

    def as_dict(self) -> dict[str, int | dict[str, int]]:
        """Plain data for ``--json`` output: records, and counts per feature."""
        return {
            "records": self.records,
            "clamped": dict(sorted(self.clamped.items())),
            "unknown": dict(sorted(self.unknown.items())),
        }

    def summary(self) -> str:
        """One line for a person: how many values were clamped or unknown, by feature."""

        def listed(counts: Counter[str]) -> str:
            return ", ".join(f"{name} {count:,}" for name, count in counts.most_common())

        parts = [f"{self.records:,} records conformed"]
        if self.clamped:
            parts.append(f"clamped to the schema's range: {listed(self.clamped)}")
        if self.unknown:
            parts.append(f"unseen categories (→ {UNKNOWN}): {listed(self.unknown)}")
        if len(parts) == 1:
            parts.append("every value within the schema")
        return "; ".join(parts)


# A feature's check: (low, high, None) for a numeric one, (nan, nan, categories) for a categorical.
_Plan = dict[str, tuple[float, float, frozenset[str] | None]]
_last_plan: list[tuple[HomeSchema, _Plan]] = []  # one slot: the last schema and its plan


def _plan(schema: HomeSchema) -> _Plan:
    """The schema's checks as plain tuples, cached for the last schema seen (conform runs once
    per record with the same schema; building this per call would dominate its cost)."""
    for cached, cached_plan in _last_plan:
        if cached is schema:
            return cached_plan
    plan: _Plan = {}
    for name, spec in (schema.features.features if schema.features else {}).items():
        if isinstance(spec, NumericFeature):
            plan[name] = (spec.low, spec.high, None)
        else:
            plan[name] = (math.nan, math.nan, frozenset(spec.categories))
    _last_plan[:] = [(schema, plan)]
    return plan


def conform(stimulus: Stimulus, schema: HomeSchema, *, where: str | None = None) -> ConformResult:
    """``stimulus`` made to fit ``schema`` (see the module docstring); ``where`` (e.g.
    ``test.csv:12``) prefixes the error. The stimulus is returned as is when nothing changed."""
    features = stimulus.features
    if (features is None) != (schema.kind == "text"):
        has, expects = ("a text", "feature records") if features is None else ("features", "texts")
        raise InputError(
            f"{where or f'stimulus {stimulus.id!r}'}: has {has}, but home schema {schema.name} "
            f"v{schema.version} (from {schema.source}) expects {expects}; {schema.extend_hint()}"
        )
    if features is None:
        return ConformResult(stimulus)
    plan = _plan(schema)
    fixed: dict[str, FeatureValue] | None = None
    clamped: list[str] = []
    unknown: list[str] = []
    new: list[str] = []
    retyped: list[str] = []
    for name, value in features.items():
        check = plan.get(name)
        if check is None:
            new.append(name)
            continue
        low, high, categories = check
        replacement: FeatureValue
        if categories is None:
            if isinstance(value, str):
                retyped.append(f"{name}={value[:40]!r}")
                continue
            if low <= value <= high:
                continue
            replacement = low if value < low else high
            clamped.append(name)
        else:
            text = value if isinstance(value, str) else category_text(value)
            if text in categories:
                if text is value:
                    continue
                replacement = text
            else:
                replacement = UNKNOWN
                unknown.append(name)
        if fixed is None:
            fixed = dict(features)
        fixed[name] = replacement
    if new or retyped or len(features) != len(plan):
        missing = sorted(set(plan) - set(features))
        raise InputError(_mismatch(stimulus, schema, where, sorted(new), missing, retyped))
    if fixed is None:
        return ConformResult(stimulus)
    # The replacements are values the schema allows, so the copy needs no re-validation.
    return ConformResult(
        stimulus.model_copy(update={"features": fixed}), tuple(clamped), tuple(unknown)
    )


def _mismatch(
    stimulus: Stimulus,
    schema: HomeSchema,
    where: str | None,
    new: list[str],
    missing: list[str],
    retyped: list[str],
) -> str:
    problems = []
    if new:
        problems.append(f"new column(s) {new} not in the schema")
    if missing:
        problems.append(f"missing column(s) {missing}")
    if retyped:
        problems.append(f"text where the schema expects a number: {', '.join(retyped)}")
    return (
        f"{where or f'stimulus {stimulus.id!r}'}: does not match home schema {schema.name} "
        f"v{schema.version} (inferred from {schema.source}): {'; '.join(problems)}. Expected "
        f"exactly the schema's columns (`emily schema show` lists them); {schema.extend_hint()}"
    )


class _Pointer(SovereignModel):
    """``current.json``: which stored version is the home's schema."""

    name: str = Field(pattern=rf"^{_NAME}$")
    version: int = Field(ge=1)


class SchemaStore:
    """Schema versions as JSON files under ``HOME/schema/``: ``NAME.vN.json`` for each version
    and ``current.json`` naming the current one. Every write is atomic (a temporary file, then
    ``os.replace``), so a crash leaves the old file or the new one, never half of one.

    Example:
        >>> store = SchemaStore(home)  # doctest: +SKIP
        >>> schema = store.current()  # None until `emily schema infer`  # doctest: +SKIP
    """

    def __init__(self, home: Path) -> None:
        self.folder = home / SCHEMA_DIR

    def path(self, name: str, version: int) -> Path:
        """The file holding version ``version`` of schema ``name``."""
        return self.folder / f"{name}.v{version}.json"

    def current(self) -> HomeSchema | None:
        """The home's current schema, or ``None`` when none was inferred yet."""
        pointer_file = self.folder / CURRENT_FILE
        if not pointer_file.exists():
            return None
        pointer = _load(pointer_file, _Pointer)
        path = self.path(pointer.name, pointer.version)
        if not path.exists():
            raise InputError(
                f"{pointer_file} names schema {pointer.name} v{pointer.version}, but {path} is "
                "missing; expected it to exist (restore it from a backup, or delete "
                f"{pointer_file} and run `emily schema infer FILE`)"
            )
        return self.load(pointer.name, pointer.version)

    def load(self, name: str, version: int) -> HomeSchema:
        """One stored version; a corrupt or mislabelled file is an ``InputError`` naming it."""
        path = self.path(name, version)
        schema = _load(path, HomeSchema)
        if (schema.name, schema.version) != (name, version):
            raise InputError(
                f"{path}: holds schema {schema.name} v{schema.version}; expected {name} "
                f"v{version} (the file name and its content must agree)"
            )
        return schema

    def versions(self, name: str | None = None) -> list[HomeSchema]:
        """Every stored version (of ``name``, if given), by name then version."""
        if not self.folder.is_dir():
            return []
        found = [
            (m["name"], int(m["version"]))
            for p in self.folder.iterdir()
            if (m := _VERSION_FILE.fullmatch(p.name)) and (name is None or m["name"] == name)
        ]
        return [self.load(n, v) for n, v in sorted(found)]

    def next_version(self, name: str) -> int:
        """The version a new schema called ``name`` gets: one past the highest stored."""
        return max((s.version for s in self.versions(name)), default=0) + 1

    def save(self, schema: HomeSchema) -> HomeSchema:
        """Store ``schema`` and make it current.

        Saving a version that exists again is allowed only to fill in its calibration: anything
        that shapes the encoder (features, kind, label column, source) is fixed once saved,
        because reflexes may already have been learned under it.
        """
        path = self.path(schema.name, schema.version)
        if path.exists():
            stored = self.load(schema.name, schema.version)
            fixed = {"threshold", "calibration"}
            if stored.model_dump(exclude=fixed) != schema.model_dump(exclude=fixed):
                raise InputError(
                    f"{path}: schema {schema.name} v{schema.version} already exists with other "
                    "features; a saved version is never changed (its reflexes depend on it). "
                    f"Expected version {self.next_version(schema.name)} for a new schema"
                )
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, schema.model_dump_json(indent=2))
        pointer = _Pointer(name=schema.name, version=schema.version)
        _write_atomic(self.folder / CURRENT_FILE, pointer.model_dump_json())
        return schema


_Model = TypeVar("_Model", bound=SovereignModel)


def _load(path: Path, model: type[_Model]) -> _Model:
    try:
        return model.model_validate_json(path.read_bytes())
    except (ValidationError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, ValidationError):
            why = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()
            )
        else:
            why = str(exc)
        raise InputError(
            f"{path}: not a readable home schema file ({why}); expected the JSON that "
            "`emily schema infer` writes (restore it from a backup, or delete it and run "
            "`emily schema infer FILE --new-version`)"
        ) from None


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old content or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


__all__ = [
    "MARGIN",
    "MIN_SPAN",
    "UNKNOWN",
    "ConformResult",
    "ConformStats",
    "HomeSchema",
    "SchemaStore",
    "category_text",
    "conform",
    "infer_home_schema",
]
