"""What ``emily run`` reads: a file checked whole first, or a live stream checked as it comes.

The order matters (issue 16): a file is read once to check every line (and, in a home without a
schema, to infer it), and only then is anything stored — the schema, then reflexes and episodes
as the loop runs. See :mod:`emily.runtime.validate_input` for the ``stop``/``skip`` policy.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

from rich.console import Console

from emily.cli._home_data import DEFAULT_SCHEMA_NAME, chosen_schema, store_schema
from emily.core import Clock, InputError
from emily.core.settings import EmilySettings
from emily.runtime import (
    BusStimuli,
    ConformStats,
    HomeSchema,
    InputPolicy,
    Scanned,
    Stimulus,
    accepted,
    consistent,
    infer_home_schema,
    scan_csv,
    scan_jsonl,
    scan_path,
    text_lines,
)

SCHEMA_SAMPLE = 256
"""Stimuli of a live stream a home without a schema infers it from."""


@dataclass(frozen=True)
class RunInput:
    """The stimuli a run answers, checked and conformed, with the schema they were read with."""

    stimuli: Iterator[Stimulus]
    schema: HomeSchema
    name: str  # for the summary: the path, "stdin" or "the bus"
    total: int | None = None
    """How many stimuli the run will answer, when known before it starts (a checked file):
    the live view's progress bar and ETA need it; a live stream has none."""


def read_file(
    settings: EmilySettings,
    path: Path,
    *,
    label: str,
    schema_file: Path | None,
    limit: int | None,
    policy: InputPolicy,
    stats: ConformStats,
    clock: Clock,
    console: Console,
) -> RunInput:
    """``path`` checked line by line before anything is stored, then read again to be run.

    In a home without a schema the check is the inference itself (every line is read, and
    lines that differ from the first in kind or columns are bad lines); otherwise each of the
    first ``limit`` good lines is conformed to the home's schema. ``policy`` stops at, or
    records, every bad line; the schema is stored only after the whole check passed.
    """
    name = str(path)
    scan_path(path, label=label)  # a missing file or a directory fails here, before reading
    schema, new = chosen_schema(settings, schema_file=schema_file)
    if schema is None:
        good = accepted(consistent(scan_path(path, label=label), name), name, None, policy)
        counted = [0]
        schema = infer_home_schema(
            _counting((stimulus for _, stimulus in good), counted),
            name=DEFAULT_SCHEMA_NAME,
            source=name,
            label_column=label,
            clock=clock,
        )
        total = min(counted[0], limit) if limit is not None else counted[0]
    else:
        checked = accepted(scan_path(path, label=label), name, schema, policy)
        total = sum(1 for _ in islice(checked, limit))
        if not total:
            raise InputError(_no_stimuli(name, policy))
    if new:
        store_schema(settings, schema, console, origin=schema_file)
    good = accepted(scan_path(path, label=label), name, schema, policy, stats)
    stimuli = islice((stimulus for _, stimulus in good), limit)
    return RunInput(stimuli, schema, name, total)


def _counting(stimuli: Iterator[Stimulus], count: list[int]) -> Iterator[Stimulus]:
    """``stimuli`` unchanged, counting them into ``count[0]`` as they pass."""
    for stimulus in stimuli:
        count[0] += 1
        yield stimulus


def read_stream(
    settings: EmilySettings,
    incoming: BusStimuli | None,
    *,
    label: str,
    schema_file: Path | None,
    limit: int | None,
    policy: InputPolicy,
    stats: ConformStats,
    clock: Clock,
    console: Console,
) -> RunInput:
    """Standard input or the bus, each stimulus checked just before it is answered.

    A live stream cannot be read twice, so ``stop`` ends the run at a bad stimulus with what
    came before it already answered. A home without a schema infers it from the first
    ``SCHEMA_SAMPLE`` good stimuli and stores it before the first is answered.
    """
    if incoming is not None:
        where, name = "<bus>", "the bus"
        items: Iterator[Scanned] = enumerate(incoming, start=1)
    else:
        where, name = "<stdin>", "stdin"
        items = scan_stdin(label)
    schema, new = chosen_schema(settings, schema_file=schema_file)
    if schema is None:
        sample = list(
            islice(accepted(consistent(items, where), where, None, policy), SCHEMA_SAMPLE)
        )
        if not sample:
            raise InputError(_no_stimuli(name, policy))
        schema = infer_home_schema(
            [stimulus for _, stimulus in sample],
            name=DEFAULT_SCHEMA_NAME,
            source="<stream>",
            label_column=label,
            clock=clock,
        )
        items = chain(sample, items)
    good = (stimulus for _, stimulus in accepted(items, where, schema, policy, stats))
    first = next(good, None)
    if first is None:
        raise InputError(_no_stimuli(name, policy))
    if new:
        store_schema(settings, schema, console, origin=schema_file)
    return RunInput(islice(chain([first], good), limit), schema, name)


def scan_stdin(label: str) -> Iterator[Scanned]:
    """Standard input as JSON lines when its first line opens with ``{``, else as CSV. Read as
    bytes, so a line that is not UTF-8 is a located error, not a crash."""
    buffer = getattr(sys.stdin, "buffer", None)
    handle = text_lines(buffer) if buffer is not None else sys.stdin
    head = handle.readline()
    lines = chain([head], handle)
    if head.lstrip().startswith("{"):
        return scan_jsonl(lines, "<stdin>", label=label)
    return scan_csv(lines, "<stdin>", label=label)


def _no_stimuli(name: str, policy: InputPolicy) -> str:
    if policy.skipped:
        return (
            f"{name}: no good stimuli: all {policy.skipped:,} were bad lines (reasons in "
            f"{policy.rejects}); expected at least one"
        )
    return f"{name}: no stimuli; expected at least one"


__all__ = ["SCHEMA_SAMPLE", "RunInput", "read_file", "read_stream", "scan_stdin"]
