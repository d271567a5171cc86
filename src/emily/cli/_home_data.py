"""The user's own data, as ``emily learn``, ``eval`` and ``run`` read it: one schema per home.

The first file a home sees (or ``--schema FILE``, or ``emily schema infer``) fixes the schema;
every later file is conformed to it (clamped values and unseen categories counted, a changed
column refused with the way out). See :mod:`emily.runtime.schema_store`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from emily.core import Clock, InputError
from emily.core.settings import EmilySettings
from emily.instinct import StimulusEncoder
from emily.runtime import (
    LABEL,
    ConformStats,
    HomeSchema,
    SchemaStore,
    Stimulus,
    conform,
    infer_home_schema,
    read_path,
)

DEFAULT_SCHEMA_NAME = "default"
ENCODE_CHUNK = 512


def resolve_schema(
    settings: EmilySettings,
    source: Path | None,
    *,
    label: str | None,
    schema_file: Path | None,
    clock: Clock,
    console: Console,
    require_labels: bool = False,
) -> HomeSchema:
    """The home's schema: ``schema_file`` (stored if the home has none), the current one, or,
    for a home without one, inferred from ``source`` and stored (``require_labels``: only if
    ``source`` has labelled stimuli, so a forgotten ``--label`` leaves nothing behind). Raises
    when there is none."""
    given, new = chosen_schema(settings, schema_file=schema_file)
    if given is not None:
        return store_schema(settings, given, console, origin=schema_file) if new else given
    if source is None:
        raise InputError(
            f"{settings.home} has no schema yet; expected one: run `emily schema infer FILE` or "
            "`emily learn FILE` on your training file first"
        )
    labelled = [0]
    schema = infer_home_schema(
        counting_labels(read_path(source, label=label or LABEL), labelled),
        name=DEFAULT_SCHEMA_NAME,
        source=str(source),
        label_column=label or LABEL,
        clock=clock,
    )
    if require_labels and not labelled[0]:
        suspects = likely_labels(schema)
        hint = f" (is it {suspects[0]!r}? then add --label {suspects[0]})" if suspects else ""
        raise InputError(
            f"{source}: no stimulus has a {label or LABEL!r} label{hint}; expected labelled "
            "stimuli to learn from. Nothing was stored: the home still has no schema"
        )
    return store_schema(settings, schema, console)


def chosen_schema(
    settings: EmilySettings, *, schema_file: Path | None
) -> tuple[HomeSchema | None, bool]:
    """The schema a command will read with, *before* anything is stored, and whether it still
    has to be stored (:func:`store_schema`): ``schema_file`` for a home that has none (``True``),
    the home's current one (``False``), or ``(None, True)``: the home has none, so it is to be
    inferred from the data. A ``schema_file`` other than the home's current schema is refused."""
    current = SchemaStore(settings.home).current()
    if schema_file is None:
        return current, current is None
    given = load_schema_file(schema_file)
    if current is None:
        return given, True
    if (given.name, given.version, given.features) != (
        current.name,
        current.version,
        current.features,
    ):
        raise InputError(
            f"--schema {schema_file} ({_named(given)}) is not the home's current schema "
            f"({_named(current)}, from {current.source}); use the home's schema, or a fresh "
            "EMILY_HOME for different data"
        )
    return current, False


def store_schema(
    settings: EmilySettings, schema: HomeSchema, console: Console, *, origin: Path | None = None
) -> HomeSchema:
    """Store ``schema`` as the home's current one and say so (``origin``: the ``--schema`` file
    it came from; else it was just inferred, and a label-like feature column is warned about)."""
    saved = SchemaStore(settings.home).save(schema)
    if origin is not None:
        console.print(f"schema: stored {escape(str(origin))} as {_named(saved)}")
        return saved
    console.print(
        f"schema: inferred {_named(saved)} from {escape(saved.source)} and stored it in "
        f"{escape(str(settings.home))} (`emily schema show`); later files are read with it"
    )
    warn_if_label_is_a_feature(saved, console)
    return saved


LIKELY_LABELS = ("target", "label", "labels", "class", "y", "species", "outcome")


def warn_if_label_is_a_feature(schema: HomeSchema, console: Console) -> None:
    """A freshly inferred schema whose features include a column that looks like the label
    (scikit-learn frames call it ``target``) was most likely inferred without ``--label``."""
    suspects = likely_labels(schema)
    if suspects:
        console.print(
            f"[yellow]warning[/yellow]: column {suspects[0]!r} became a feature of the schema, "
            f"and the label column is {schema.label_column!r}; if {suspects[0]!r} is the label, "
            f"start again with --label {suspects[0]} (`emily schema infer FILE --label "
            f"{suspects[0]} --new-version`)"
        )


def counting_labels(stimuli: Iterator[Stimulus], count: list[int]) -> Iterator[Stimulus]:
    """``stimuli`` unchanged, adding how many carry a label to ``count[0]`` as they pass."""
    for stimulus in stimuli:
        count[0] += stimulus.label is not None
        yield stimulus


def likely_labels(schema: HomeSchema) -> list[str]:
    """Feature columns whose name says they are probably the label (``target``, ``class``…)."""
    columns = schema.features.features if schema.features else {}
    return [c for c in columns if c.lower() in LIKELY_LABELS]


def _named(schema: HomeSchema) -> str:
    return f"{schema.name} v{schema.version}"


def load_schema_file(path: Path) -> HomeSchema:
    if path.is_dir():
        raise InputError(f"--schema {path} is a folder; expected a schema JSON file")
    if not path.is_file():
        raise InputError(f"--schema {path} does not exist; expected a schema JSON file")
    try:
        return HomeSchema.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(
            f"--schema {path} is not a schema ({exc.__class__.__name__}); expected the JSON "
            "that `emily schema show --json` prints"
        ) from None


def conformed(
    path: Path, schema: HomeSchema, stats: ConformStats, *, label: str | None = None
) -> Iterator[Stimulus]:
    """The stimuli of ``path`` conformed to ``schema`` (counted in ``stats``)."""
    for number, stimulus in enumerate(read_path(path, label=label or schema.label_column), 1):
        yield stats.add(conform(stimulus, schema, where=f"{path} stimulus {number}")).stimulus


def encoder_for(settings: EmilySettings, schema: HomeSchema) -> StimulusEncoder:
    """The one encoder of this home's schema (and so of every reflex learned under it)."""
    return StimulusEncoder(schema.features, dim=settings.hdc_dim, seed=settings.seed)


def progress(console: Console) -> Progress:
    """A progress bar with count and ETA (drawn only on a terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def encode_all(
    encoder: StimulusEncoder,
    stimuli: list[Stimulus],
    console: Console,
    what: str = "encoding",
) -> np.ndarray:
    """Packed hypervectors of ``stimuli`` (rows in order), in chunks, with a progress bar."""
    rows: list[np.ndarray] = []
    with progress(console) as bar:
        task = bar.add_task(what, total=len(stimuli))
        for start in range(0, len(stimuli), ENCODE_CHUNK):
            chunk = stimuli[start : start + ENCODE_CHUNK]
            rows.append(_encode(encoder, chunk))
            bar.advance(task, len(chunk))
    if not rows:
        return np.zeros((0, encoder.dim // 8), dtype=np.uint8)
    return np.concatenate(rows)


def _encode(encoder: StimulusEncoder, chunk: list[Stimulus]) -> np.ndarray:
    records = [s.features for s in chunk]
    if all(r is not None for r in records):
        return encoder.encode_many([r for r in records if r is not None])
    return np.stack([encoder.encode(s.payload) for s in chunk])
