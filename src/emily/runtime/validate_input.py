"""What ``emily run`` does with a bad line: stop before anything is stored, or skip and record it.

A file is checked whole before the loop starts (a second read, so its stimuli are never held in
memory twice): every line is parsed and conformed to the home's schema. With ``stop`` (the
default) the first bad line ends the command with ``FILE:LINE: reason`` and nothing stored: no
episode, no reflex, no schema. With ``skip`` each bad line goes to a rejects file (JSON lines
``{"source", "line", "reason"}``) and the rest runs. Whether a line is accepted depends only on
the line and the schema, never on when it arrives (the alpha gate's phase comes later).

Standard input and the bus cannot be read twice, so there each stimulus is checked just before
it reaches the loop, with the same policy: ``stop`` ends the run at the bad stimulus (what came
before it was answered and stored), ``skip`` records it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

from emily.core import InputError
from emily.runtime.schema_store import ConformStats, HomeSchema, conform
from emily.runtime.stimuli import LineError, Scanned, Stimulus

OnError = Literal["stop", "skip"]
REJECTS_DIR = "rejects"


def default_rejects_path(home: Path, source: str) -> Path:
    """Where ``--on-error skip`` writes the rejects of ``source`` without ``--rejects``:
    ``HOME/rejects/<file stem>.rejects.jsonl`` (``stdin``, ``bus`` for the live sources)."""
    stem = Path(source).stem.strip("<>") or "stdin"
    return home / REJECTS_DIR / f"{stem}.rejects.jsonl"


class InputPolicy:
    """``stop``: a bad line raises its :class:`LineError`; ``skip``: it is written to
    ``rejects`` (once per line, however often it is read) and counted."""

    def __init__(self, on_error: OnError, rejects: Path | None = None) -> None:
        if on_error == "skip" and rejects is None:
            raise InputError("--on-error skip needs a rejects file; expected --rejects PATH")
        self.on_error = on_error
        self.rejects = rejects
        self._seen: set[tuple[str, int]] = set()
        self._handle: IO[str] | None = None
        if rejects is not None and on_error == "skip":
            rejects.unlink(missing_ok=True)  # a file from an earlier run would mislead

    @property
    def skipped(self) -> int:
        """Bad lines skipped so far."""
        return len(self._seen)

    def reject(self, error: LineError) -> None:
        """Stop with ``error`` or record it, as the policy says."""
        if self.on_error == "stop":
            raise error
        key = (error.source, error.line)
        if key in self._seen:
            return
        self._seen.add(key)
        if self._handle is None:
            assert self.rejects is not None  # checked in __init__
            self.rejects.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.rejects.open("w", encoding="utf-8")
        row = {"source": error.source, "line": error.line, "reason": error.reason}
        self._handle.write(json.dumps(row) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def accepted(
    items: Iterable[Scanned],
    source: str,
    schema: HomeSchema | None,
    policy: InputPolicy,
    stats: ConformStats | None = None,
) -> Iterator[tuple[int, Stimulus]]:
    """The good lines of ``items``, each conformed to ``schema`` (if given; counted in
    ``stats``); the bad ones go to ``policy``."""
    for line, item in items:
        if isinstance(item, LineError):
            policy.reject(item)
            continue
        if schema is None:
            yield line, item
            continue
        try:
            result = conform(item, schema, where=f"{source}:{line}")
        except InputError as exc:
            policy.reject(LineError.of(source, line, exc))
            continue
        if stats is not None:
            stats.add(result)
        yield line, result.stimulus


def consistent(items: Iterable[Scanned], source: str) -> Iterator[Scanned]:
    """``items`` with every stimulus that differs in kind or columns from the first good one
    turned into a :class:`LineError`: what a schema is inferred from must agree, and a bad line
    then names its line (``infer_home_schema`` would stop at it without one)."""
    first: tuple[int, Stimulus] | None = None
    for line, item in items:
        if isinstance(item, Stimulus):
            if first is None:
                first = (line, item)
            else:
                why = _differs(first, item)
                if why is not None:
                    yield line, LineError(source, line, why)
                    continue
        yield line, item


def _differs(first: tuple[int, Stimulus], other: Stimulus) -> str | None:
    line, stimulus = first
    if (stimulus.features is None) != (other.features is None):
        kinds = ("a text", "feature records") if other.features is None else ("features", "texts")
        return f"has {kinds[0]}, but line {line} has {kinds[1]}; expected one kind per home"
    if stimulus.features is None or other.features is None:
        return None
    expected, got = stimulus.features.keys(), other.features.keys()
    if expected == got:
        return None
    return (
        f"has columns that differ from line {line} (extra {sorted(got - expected)}, missing "
        f"{sorted(expected - got)}); expected every record to carry the same columns"
    )


__all__ = [
    "REJECTS_DIR",
    "InputPolicy",
    "OnError",
    "accepted",
    "consistent",
    "default_rejects_path",
]
