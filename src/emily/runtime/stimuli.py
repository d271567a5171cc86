"""Where stimuli come from: JSON lines, CSV, standard input, or the built-in demo stream.

A stimulus is a mapping of named features (numbers or categories) or a short text, with an id,
an optional salience (the amplitude the alpha gate sees), an optional label (the response a
teacher confirms, used to learn reflexes) and an optional timestamp (POSIX seconds). Every
source yields validated ``Stimulus`` records; a malformed line stops with ``file:line``, what was
wrong and what was expected, before anything is stored. The ``scan_*`` readers instead report
each bad line as a :class:`LineError` and read on (``emily run --on-error skip``); no input, not
even a binary file or JSON nested too deeply, ends in anything but a located ``InputError``.

Files written by pandas read as they are (``df.to_csv("train.csv")``): the index column (header
``""`` or ``Unnamed: N``) is never a feature, and ``label="target"`` names scikit-learn's label
column. Label text rule, the same for CSV and JSONL so a file learned in one format can be
tested in the other: a number becomes its integer text when it is integral (``0``, ``1.0`` and
the CSV cell ``1.0`` all read as ``"0"``/``"1"``), else Python's shortest float text
(``0.5``); any other CSV cell is kept verbatim; a JSON ``true``/``false`` is refused.

The demo stream replays the UCI wine recognition data (178 wines, 13 chemical measurements,
3 cultivars) that ships inside scikit-learn, with measurement noise, so the same wines recur
and reflexes have something to learn: Forina et al., "PARVUS" (1988), via the UCI repository.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from pydantic import Field, ValidationError, model_validator

from emily.core import InputError, SovereignModel

FeatureValue = float | str
LABEL = "label"


class Stimulus(SovereignModel):
    """One input to Emily: features or a text, with optional salience, label and timestamp."""

    id: str = Field(min_length=1, max_length=256)
    features: dict[str, FeatureValue] | None = None
    text: str | None = Field(default=None, max_length=10_000)
    salience: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    label: str | None = Field(default=None, max_length=1_000)
    timestamp: float | None = Field(
        default=None, allow_inf_nan=False, description="When it happened, in POSIX seconds."
    )

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
    try:
        return Stimulus.model_validate(record, strict=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"{where}: invalid stimulus ({problems})") from None


def _timestamp(value: object, where: str) -> float:
    """POSIX seconds from a number or an ISO-8601 string that carries its timezone."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)  # NaN/inf are refused by the model, with the line
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(
                f"{where}: timestamp {value!r} is neither POSIX seconds nor an ISO-8601 time; "
                "expected e.g. 1718000000.5 or 2024-06-10T06:13:20+00:00"
            ) from None
        if moment.tzinfo is None:
            raise InputError(
                f"{where}: timestamp {value!r} has no timezone; expected an ISO-8601 time with "
                "one (2024-06-10T06:13:20Z or +02:00) or POSIX seconds"
            )
        return moment.timestamp()
    raise InputError(
        f"{where}: timestamp is {type(value).__name__} {value!r}; expected POSIX seconds or an "
        "ISO-8601 string with a timezone"
    )


_INTEGRAL_TEXT = re.compile(r"-?\d+\.0+")


def _label_text(value: object, where: str) -> str | None:
    """A label as text, by the rule in the module docstring."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise InputError(
        f"{where}: label is {type(value).__name__} {value!r}; expected a string or a finite number"
    )


class LineError(InputError):
    """A line of a stimulus source that cannot be used: ``source:line: reason``.

    ``line`` and ``reason`` are kept apart so ``emily run --on-error skip`` can write them to
    its rejects file; ``str()`` is the one-line message the CLI prints.
    """

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason

    @classmethod
    def of(cls, source: str, line: int, error: Exception) -> LineError:
        """``error`` (whose message may already start with ``source:line``) at that line."""
        text = str(error)
        for prefix in (f"{source}:{line}:", f"{source}:{line}"):
            if text.startswith(prefix):
                text = text[len(prefix) :].lstrip()
                break
        return cls(source, line, text)


Scanned = tuple[int, "Stimulus | LineError"]
"""One line of a source: its number and the stimulus on it, or why there is none."""

_MAX_DETAIL = 200


def _undecodable(line: str) -> str | None:
    """Why ``line`` (read with ``errors="surrogateescape"``) is not UTF-8 text, if it is not."""
    if line.isascii():
        return None
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(line[exc.start]) - 0xDC00
        return (
            f"not UTF-8 text (byte 0x{byte:02x} at column {exc.start + 1}); expected a UTF-8 "
            "text file (a binary file, or another encoding: re-save it as UTF-8)"
        )
    return None


def _unexpected(exc: BaseException, expected: str) -> str:
    """A reason for an error no check of ours named (Python's own limits on odd input)."""
    detail = str(exc)
    if len(detail) > _MAX_DETAIL:
        detail = detail[:_MAX_DETAIL] + "…"
    return f"cannot be read ({type(exc).__name__}: {detail}); expected {expected}"


_JSON_EXPECTED = 'one JSON object per line, e.g. {"id": "a", "features": {"x": 1.5}}'


def scan_jsonl(
    lines: Iterable[str], source: str = "<stdin>", *, label: str = LABEL
) -> Iterator[Scanned]:
    """Every non-blank line of JSON lines as ``(line number, Stimulus | LineError)``: a bad line
    is reported and reading goes on (format: :func:`read_jsonl`)."""
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        count += 1
        where = f"{source}:{number}"
        try:
            undecodable = _undecodable(line)
            if undecodable is not None:
                raise LineError(source, number, undecodable)
            yield number, _jsonl_record(line, where, count, label)
        except InputError as exc:
            yield number, LineError.of(source, number, exc)
        except (ValueError, RecursionError, OverflowError, TypeError, MemoryError) as exc:
            yield number, LineError(source, number, _unexpected(exc, _JSON_EXPECTED))


def _jsonl_record(line: str, where: str, count: int, label: str) -> Stimulus:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not valid JSON ({exc.msg}); expected {_JSON_EXPECTED}"
        ) from None
    except RecursionError:
        raise InputError(
            f"{where}: JSON nested too deeply (about 1,000 levels or more); expected a flat "
            "object of features"
        ) from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if label != LABEL and label in record:
        if LABEL in record:
            raise InputError(
                f"{where}: both {LABEL!r} and {label!r} are present; expected one label key"
            )
        record[LABEL] = record.pop(label)
    if LABEL in record:
        record[LABEL] = _label_text(record[LABEL], where)
    if record.get("timestamp") is not None:
        record["timestamp"] = _timestamp(record["timestamp"], where)
    flat = {k: v for k, v in record.items() if k not in _RESERVED and k != LABEL}
    if flat and "features" not in record and "text" not in record:
        record = {k: v for k, v in record.items() if k not in flat} | {"features": flat}
    record.setdefault("id", f"row-{count}")
    return _validated(record, where)


def stimuli_of(items: Iterable[Scanned]) -> Iterator[Stimulus]:
    """The stimuli of ``items``, stopping at the first bad line with its error."""
    for _, item in items:
        if isinstance(item, LineError):
            raise item
        yield item


def read_jsonl(
    lines: Iterable[str], source: str = "<stdin>", *, label: str = LABEL
) -> Iterator[Stimulus]:
    """Stimuli from JSON lines (blank lines skipped); the first bad line stops with
    ``source:line``.

    Each line is an object ``{"id", "features" | "text", "salience"?, "timestamp"?, LABEL?}``;
    ``label`` names the key holding the label (``"target"`` for scikit-learn frames). A *flat*
    line, with neither ``features`` nor ``text`` (as ``DataFrame.to_json(orient="records",
    lines=True)`` writes), takes every other key as a feature, like a CSV row; a line without an
    ``id`` is ``row-N`` (N counts stimuli from 1).
    """
    return stimuli_of(scan_jsonl(lines, source, label=label))


_RESERVED = {"id", "salience", "text", "timestamp"}
_PANDAS_INDEX = re.compile(r"Unnamed: \d+")
_CSV_EXPECTED = "a CSV row with one cell per header column"


class _CheckedLines:
    """Lines on their way to ``csv.reader``, with the numbers of those that were not UTF-8 (made
    readable here so the reader goes on; the row they belong to is reported instead)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.number = 0
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        why = _undecodable(line)
        if why is not None:
            self.bad[self.number] = why
            return line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return line


def scan_csv(
    handle: Iterable[str], source: str = "<csv>", *, label: str = LABEL
) -> Iterator[Scanned]:
    """Every data row of a CSV as ``(line number, Stimulus | LineError)``: a bad row is reported
    and reading goes on; a bad header stops (format: :func:`read_csv`)."""
    lines = _CheckedLines(handle)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise LineError(
            source, 1, f"unreadable CSV header ({exc}); expected {_CSV_EXPECTED}"
        ) from None
    if 1 in lines.bad:
        raise LineError(source, 1, lines.bad[1])
    if not header:
        raise InputError(f"{source}: empty; expected a header row naming the columns")
    index = [c for c, name in enumerate(header) if name == "" or _PANDAS_INDEX.fullmatch(name)]
    names = [name for c, name in enumerate(header) if c not in index]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise LineError(source, 1, f"columns {duplicated} appear twice; expected unique names")
    if label != LABEL and LABEL in names and label in names:
        raise LineError(
            source,
            1,
            f"both {LABEL!r} and {label!r} columns are present; expected one label column (pass "
            "the one to use with the label keyword, rename the other)",
        )
    columns = _CsvColumns(header, index, names, label)
    row_number = 0
    while True:
        first_line = lines.number + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "field limit" in reason:
                reason = (
                    f"a cell is longer than {csv.field_size_limit():,} characters; expected "
                    "shorter cells (a text stimulus holds at most 10,000)"
                )
            else:
                reason = f"unreadable CSV ({reason}); expected {_CSV_EXPECTED}"
            yield lines.number, LineError(source, lines.number, reason)
            continue
        if not row:
            continue  # a blank line
        row_number += 1
        number = reader.line_num
        bad = next((lines.bad[n] for n in range(first_line, number + 1) if n in lines.bad), None)
        try:
            if bad is not None:
                raise LineError(source, number, bad)
            yield number, columns.stimulus(row, f"{source}:{number}", row_number)
        except InputError as exc:
            yield number, LineError.of(source, number, exc)
        except (ValueError, RecursionError, OverflowError, TypeError) as exc:
            yield number, LineError(source, number, _unexpected(exc, _CSV_EXPECTED))


class _CsvColumns:
    """What each column of a CSV header means (see :func:`read_csv`), and rows read with it."""

    def __init__(self, header: list[str], index: list[int], names: list[str], label: str) -> None:
        self.width = len(header)
        self.label = label
        self.reserved = _RESERVED | {label}
        self.roles = [(c, name) for c, name in enumerate(header) if c not in index]
        self.id_from = None if "id" in names else (index[0] if index else -1)

    def stimulus(self, row: list[str], where: str, row_number: int) -> Stimulus:
        if len(row) != self.width:
            raise InputError(
                f"{where}: the row has {len(row)} cells but the header has {self.width}; "
                "expected one cell per column"
            )
        record: dict[str, Any] = {}
        features: dict[str, FeatureValue] = {}
        for c, name in self.roles:
            cell = row[c]
            if name not in self.reserved:
                features[name] = _feature(cell)
            elif cell != "":
                record[LABEL if name == self.label else name] = cell
        id_from = self.id_from
        if id_from is not None:
            record["id"] = row[id_from] if id_from >= 0 and row[id_from] else f"row-{row_number}"
        if "salience" in record:
            record["salience"] = _number(record["salience"], f"{where} salience")
        if "timestamp" in record:
            record["timestamp"] = _timestamp(record["timestamp"], where)
        if LABEL in record and _INTEGRAL_TEXT.fullmatch(record[LABEL]):
            record[LABEL] = record[LABEL].split(".", 1)[0]
        if features and "text" not in record:
            record["features"] = features
        return _validated(record, where)


def read_csv(
    handle: Iterable[str], source: str = "<csv>", *, label: str = LABEL
) -> Iterator[Stimulus]:
    """Stimuli from a CSV with a header; every column not named below is a feature (a number
    where the cell parses as one, else a category). The first bad row stops with
    ``source:line``.

    * ``id``: the stimulus id. Without it, a pandas index column (header ``""`` or
      ``Unnamed: N``) gives the ids, else ids are ``row-N`` (N counts data rows from 1).
      Index columns are never features.
    * ``label`` (the column the keyword names, e.g. ``"target"``), ``salience``, ``text``;
      ``timestamp``: POSIX seconds or ISO-8601 with a timezone. Empty cells mean "absent".
    """
    return stimuli_of(scan_csv(handle, source, label=label))


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number; expected e.g. 1.5") from None


def _feature(text: str) -> FeatureValue:
    try:
        return float(text)
    except ValueError:
        return text


def text_lines(binary: IO[bytes]) -> IO[str]:
    """``binary`` as text lines that never fail to decode: bytes that are not UTF-8 are kept as
    surrogates, so the scanners report the line they are on instead of stopping mid-file (an
    Excel byte-order mark is dropped; ``newline=""`` as ``csv`` wants)."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _check_file(path: Path) -> str:
    """The format of ``path`` (``"jsonl"`` or ``"csv"``), or why it cannot be read."""
    if path.is_dir():
        raise InputError(f"{path} is a directory; expected a .jsonl or .csv file of stimuli")
    if not path.is_file():
        raise InputError(f"stimulus file {path} does not exist; expected a .jsonl or .csv file")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InputError(f"{path}: unknown stimulus format {suffix!r}; expected .jsonl or .csv")


def scan_path(path: Path, *, label: str = LABEL) -> Iterator[Scanned]:
    """Every line of a ``.jsonl``/``.json``/``.ndjson`` or ``.csv`` file (chosen by suffix) as
    ``(line number, Stimulus | LineError)``; a missing file, a directory or another suffix
    raises at once (before the first line is read)."""
    kind = _check_file(path)
    return _scan_file(path, kind, label)


def _scan_file(path: Path, kind: str, label: str) -> Iterator[Scanned]:
    with path.open("rb") as binary, text_lines(binary) as handle:
        scan = scan_jsonl if kind == "jsonl" else scan_csv
        yield from scan(handle, str(path), label=label)


def read_path(path: Path, *, label: str = LABEL) -> Iterator[Stimulus]:
    """Stimuli from a ``.jsonl``/``.json``/``.ndjson`` or ``.csv`` file, chosen by suffix;
    ``label`` names the label column or key (see :func:`read_csv`, :func:`read_jsonl`)."""
    kind = _check_file(path)
    return stimuli_of(_scan_file(path, kind, label))


class DemoDataset(SovereignModel):
    """The wine data as the demo uses it: feature names, ranges, rows and cultivar labels."""

    feature_names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    rows: tuple[tuple[float, ...], ...]
    labels: tuple[str, ...]


WINE_FEATURES = (
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
    "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
    "od280/od315_of_diluted_wines", "proline",
)  # fmt: skip
"""The wine columns as ``sklearn.datasets.load_wine`` names them (its CSV has no header names);
a test holds this and :func:`wine_table` equal to ``load_wine()``, so an upgrade that changes
either fails loudly."""

_WINE_CSV = ("datasets", "data", "wine_data.csv")


class WineTable(SovereignModel):
    """The wine data exactly as ``load_wine`` returns it: measurements, cultivar indices and
    cultivar names."""

    feature_names: tuple[str, ...]
    data: tuple[tuple[float, ...], ...]
    target: tuple[int, ...]
    target_names: tuple[str, ...]


def wine_csv() -> Path | None:
    """scikit-learn's shipped ``wine_data.csv``, found without importing scikit-learn (``import
    sklearn.datasets`` costs ~1.5 s before the demo streams); ``None`` if it is not there."""
    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root).joinpath(*_WINE_CSV)
        if path.is_file():
            return path
    return None


def wine_table() -> WineTable:
    """The wine data from scikit-learn's package data (no download), read the way
    ``load_wine`` reads it: a first row ``n_samples, n_features, *target_names``, then one row
    of measurements and a cultivar index per wine. Should a scikit-learn release move the file
    or change its shape, ``load_wine`` itself answers (slower, still right)."""
    path = wine_csv()
    table = None if path is None else _read_wine_csv(path)
    return table if table is not None else _loaded_wine()


def _read_wine_csv(path: Path) -> WineTable | None:
    """The table in ``path``, or ``None`` if it is not shaped as ``load_wine`` expects."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        rows = [row for row in reader if row]
    width = len(WINE_FEATURES)
    if (
        first is None
        or first[:2] != [str(len(rows)), str(width)]
        or any(len(row) != width + 1 for row in rows)
    ):
        return None
    return WineTable(
        feature_names=WINE_FEATURES,
        data=tuple(tuple(float(v) for v in row[:-1]) for row in rows),
        target=tuple(int(row[-1]) for row in rows),
        target_names=tuple(first[2:]),
    )


def _loaded_wine() -> WineTable:
    """The slow path: the same table from ``sklearn.datasets.load_wine``."""
    from sklearn.datasets import load_wine

    wine = load_wine()
    return WineTable(
        feature_names=tuple(wine.feature_names),
        data=tuple(tuple(float(v) for v in row) for row in wine.data),
        target=tuple(int(t) for t in wine.target),
        target_names=tuple(str(n) for n in wine.target_names),
    )


def demo_dataset() -> DemoDataset:
    """The wine data as the demo uses it (feature names with ``/`` made ``_``)."""
    wine = wine_table()
    data = np.asarray(wine.data, dtype=np.float64)
    return DemoDataset(
        feature_names=tuple(n.replace("/", "_") for n in wine.feature_names),
        low=tuple(float(v) for v in data.min(axis=0)),
        high=tuple(float(v) for v in data.max(axis=0)),
        rows=tuple(tuple(float(v) for v in row) for row in data),
        labels=tuple(wine.target_names[t] for t in wine.target),
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


def parse_stimuli(text: str, source: str = "<text>", *, label: str = LABEL) -> list[Stimulus]:
    """All stimuli in a JSON-lines string (used by the HTTP API and tests)."""
    return list(read_jsonl(io.StringIO(text), source, label=label))
