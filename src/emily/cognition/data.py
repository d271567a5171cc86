"""Data for the DAG hypothesis space: seeded synthetic tables, and a user's own CSV made ready.

A user's table arrives as ``df.to_csv`` wrote it (an index column), in raw units, with text
categories; :func:`read_table` drops the index with a note, and :func:`prepare_for_bge` /
:func:`prepare_for_bdeu` standardise or encode the columns, saying what they did, and refuse a
column that cannot be scored with a message naming it, the row and what was expected.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emily.core.errors import InputError


def random_dag(d: int, n_edges: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly ordered random DAG with ``n_edges`` edges (Erdős–Rényi over a random order)."""
    max_edges = d * (d - 1) // 2
    if d < 2 or not 0 <= n_edges <= max_edges:
        raise InputError(f"need d >= 2 and 0 <= n_edges <= {max_edges}, got d={d}, {n_edges}")
    order = rng.permutation(d)
    pairs = [(order[i], order[j]) for i in range(d) for j in range(i + 1, d)]
    chosen = rng.choice(len(pairs), size=n_edges, replace=False)
    adj = np.zeros((d, d), dtype=bool)
    for k in chosen:
        adj[pairs[k]] = True
    return adj


def sample_linear_gaussian(
    adj: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.1, weight_scale: float = 1.0
) -> pd.DataFrame:
    """``n`` rows from ``x_j = sum_i w_ij x_i + eps_j`` with ``w ~ N(0, weight_scale)`` on edges."""
    d = adj.shape[0]
    weights = np.where(adj, rng.normal(0.0, weight_scale, size=(d, d)), 0.0)
    data = np.zeros((n, d))
    remaining = set(range(d))
    while remaining:  # topological order
        ready = [j for j in sorted(remaining) if not any(adj[i, j] for i in remaining)]
        if not ready:
            raise InputError("adjacency has a cycle")
        for j in ready:
            data[:, j] = data @ weights[:, j] + rng.normal(0.0, noise, size=n)
            remaining.remove(j)
    return pd.DataFrame(data, columns=[f"x{j}" for j in range(d)])


def synthetic_linear_gaussian(
    d: int = 5, n_edges: int | None = None, n: int = 100, seed: int = 0, noise: float = 0.1
) -> tuple[pd.DataFrame, np.ndarray]:
    """Seeded data table and its true DAG (``n_edges`` defaults to ``d``, capped at the maximum)."""
    rng = np.random.default_rng(seed)
    adj = random_dag(d, min(d, d * (d - 1) // 2) if n_edges is None else n_edges, rng)
    return sample_linear_gaussian(adj, n, rng, noise), adj


# --- tables from files --------------------------------------------------------------------------
INDEX_NAMES = frozenset({"", "index", "idx", "id", "row", "rowid", "row_id", "row id", "#"})
"""Header names (case-insensitive) that mark a row index or id rather than a variable."""

_PANDAS_UNNAMED = re.compile(r"Unnamed: \d+")
_SHOWN = 5  # rows or values quoted in an error message


@dataclass(frozen=True)
class Table:
    """A data table read from a file, and what reading it did that the user should be told."""

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def read_table(path: str | Path, drop: Sequence[str] = ()) -> Table:
    """A CSV data table (a header row of variable names), without its row index.

    ``df.to_csv("my.csv")`` writes the frame's index as an unnamed first column, and an index
    read as a variable would be scored as a cause of everything else, so it is dropped with a
    note: a leading unnamed column (header ``""`` or ``Unnamed: N``), a column named like an
    index (``index``, ``id``, ``row``...) that counts the rows (``0..n-1`` or ``1..n``), or the
    row labels pandas takes when the header is one cell short. A column named like an index that
    does not count the rows, or an unnamed column elsewhere, is refused: it may be a variable or
    an id, and only the user knows; ``drop`` (``--drop NAME``) removes columns by name.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no data file at {path}")
    try:
        frame = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a readable CSV table: {exc}") from exc
    if frame.empty:
        raise InputError(f"{path} has no rows under its header; expected one row per sample")
    notes: list[str] = []
    dropped: list[str] = []
    if not isinstance(frame.index, pd.RangeIndex):  # header one cell short: labels became index
        notes.append(
            f"{path.name}: the header names one column fewer than the rows hold; the first cell "
            "of each row was read as a row label, not a variable"
        )
        frame = frame.reset_index(drop=True)
    _refuse_duplicates(path)
    wanted = [str(c) for c in drop]
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown:
        raise InputError(
            f"--drop names {unknown}, which {path.name} does not have; its columns are "
            f"{[str(c) for c in frame.columns]}"
        )
    if wanted:
        frame = frame.drop(columns=wanted)
        dropped.extend(wanted)
        notes.append(f"dropped column(s) {wanted} as asked (--drop)")
    columns = [str(c) for c in frame.columns]
    leading = 0
    while leading < len(columns) and _unnamed(columns[leading]):
        leading += 1
    for position, name in enumerate(columns):
        if position >= leading and _unnamed(name):
            raise InputError(
                f"{path.name}: column {position + 1} has no name; expected a header naming every "
                "variable (name it, or remove the column)"
            )
    if leading:
        index_cols = columns[:leading]
        frame = frame.drop(columns=index_cols)
        dropped.extend(index_cols)
        notes.append(
            f"dropped the unnamed first column{'s' if leading > 1 else ''} "
            f"({', '.join(repr(c) for c in index_cols)}): a row index as pandas writes it "
            "(df.to_csv), not a variable"
        )
    for name in [str(c) for c in frame.columns]:
        if name.strip().lower() not in INDEX_NAMES:
            continue
        if _counts_rows(frame[name]):
            frame = frame.drop(columns=[name])
            dropped.append(name)
            notes.append(
                f"dropped column {name!r}: it numbers the rows, a row index, not a variable"
            )
        else:
            raise InputError(
                f"{path.name}: column {name!r} is named like a row index or id but does not number "
                f"the rows 0..n-1 or 1..n; expected variables only: pass --drop {name!r} if it is "
                "an id, or rename the column if it is a variable"
            )
    if frame.shape[1] == 0:
        raise InputError(f"{path.name} has no variable columns left after dropping {dropped}")
    return Table(frame.reset_index(drop=True), tuple(notes), tuple(dropped))


def load_table(path: str | Path, drop: Sequence[str] = ()) -> pd.DataFrame:
    """The frame of :func:`read_table` (its notes dropped; use ``read_table`` to show them)."""
    return read_table(path, drop).frame


def _unnamed(name: str) -> bool:
    return name.strip() == "" or _PANDAS_UNNAMED.fullmatch(name) is not None


def _counts_rows(column: pd.Series) -> bool:
    """``0, 1, ..., n-1`` or ``1, 2, ..., n`` in row order (how an index numbers rows)."""
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any():
        return False
    arr = values.to_numpy(dtype=np.float64)
    start = np.arange(len(arr), dtype=np.float64)
    return bool(np.array_equal(arr, start) or np.array_equal(arr, start + 1))


def _refuse_duplicates(path: Path) -> None:
    """pandas renames a repeated header ``a`` to ``a.1``; a repeated variable is an error."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    names = [h.strip() for h in header if h.strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{path.name}: columns {repeated} appear twice; expected unique names")


# --- tables made ready for a score ------------------------------------------------------------
@dataclass(frozen=True)
class Preparation:
    """What was done to a table before scoring, to report it and to undo it for display.

    ``means``/``scales``: per column, what was subtracted and divided by (BGe standardisation);
    ``categories``: per column, the value each integer code stands for (BDeu encoding).
    """

    score: str
    standardized: bool = False
    means: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def prepare_for_bge(
    frame: pd.DataFrame, standardize: bool = True
) -> tuple[pd.DataFrame, Preparation]:
    """Numeric columns for BGe, standardised to mean 0 and standard deviation 1 by default.

    BGe's prior (``t * I`` added to the scatter matrix) is not scale-invariant: a variable in
    grams instead of kilograms changes the posterior over graphs. Standardising puts every column
    on one scale, so the answer depends on the data, not on its units; ``standardize=False``
    keeps raw values (when the units are already comparable, or to reproduce a paper).
    """
    _refuse_missing(frame, "BGe")
    text = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            continue
        if not pd.api.types.is_numeric_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            bad = numbers.isna()
            if not bad.all():
                raise InputError(_mixed_message(str(name), column, bad))
            text[str(name)] = column
    if text:
        examples = {name: str(col.iloc[0]) for name, col in text.items()}
        raise InputError(
            f"BGe models continuous variables, but columns {sorted(text)} hold text (e.g. "
            f"{examples}); expected numbers: use --score bdeu for categorical data, or "
            "--drop those columns"
        )
    numeric = frame.astype(np.float64)
    _refuse_constant(numeric, "BGe")
    columns = [str(c) for c in numeric.columns]
    if not standardize:
        note = "kept raw column values (--no-standardize): BGe's result depends on their units"
        return numeric, Preparation("bge", notes=(note,))
    means = numeric.mean()
    scales = numeric.std(ddof=0)
    scaled = (numeric - means) / scales
    note = (
        f"standardised {len(columns)} columns to mean 0 and standard deviation 1, so BGe does not "
        "depend on their units (--no-standardize keeps raw values)"
    )
    return scaled, Preparation(
        "bge",
        standardized=True,
        means={c: float(means[c]) for c in columns},
        scales={c: float(scales[c]) for c in columns},
        notes=(note,),
    )


def prepare_for_bdeu(frame: pd.DataFrame) -> tuple[pd.DataFrame, Preparation]:
    """Integer codes ``0 .. r-1`` per column for BDeu, and the category each code stands for.

    Text columns are categories as they are; integer columns are categories too, re-coded so an
    unused value (codes ``1, 2, 3`` with no ``0``) does not become an empty category, which
    would change BDeu's prior. Codes follow the sorted values, so ``low < mid`` alphabetically
    and ``1 < 2`` numerically. Non-integer numbers are refused: BDeu needs categories, and a
    continuous column has as many categories as rows.
    """
    _refuse_missing(frame, "BDeu")
    coded: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    for name in [str(c) for c in frame.columns]:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            values = np.asarray(column, dtype=np.int64)
            levels: list[Any] = sorted(set(values.tolist()))
            shown = [str(bool(v)) for v in levels]
        elif pd.api.types.is_numeric_dtype(column):
            arr = column.to_numpy(dtype=np.float64)
            fractional = np.flatnonzero(arr != np.round(arr))
            if fractional.size:
                row = int(fractional[0])
                raise InputError(
                    f"BDeu models categorical variables, but column {name!r} holds non-integer "
                    f"numbers (e.g. {float(arr[row]):g} in row {row + 1}); expected categories or "
                    "integer codes: use --score bge for continuous data, or bin the column"
                )
            values = arr.astype(np.int64)
            levels = sorted(set(values.tolist()))
            shown = [str(v) for v in levels]
        else:
            numbers = pd.to_numeric(column, errors="coerce")
            bad = numbers.isna()
            if not bad.all():
                raise InputError(_mixed_message(name, column, bad))
            values = np.asarray(column.astype(str))
            levels = sorted(set(values.tolist()))
            shown = list(levels)
        lookup = {v: code for code, v in enumerate(levels)}
        coded[name] = np.array([lookup[v] for v in values.tolist()], dtype=np.int64)
        categories[name] = shown
    out = pd.DataFrame(coded, columns=[str(c) for c in frame.columns])
    _refuse_constant(out, "BDeu")
    n = len(out)
    ids = [c for c, levels in categories.items() if len(levels) == n and n >= 20]
    if ids:
        raise InputError(
            f"BDeu: columns {ids} take a different value in every row, like an id; expected "
            "categories that repeat: --drop them"
        )
    encoded = [
        c for c in out.columns if categories[c] != [str(k) for k in range(len(categories[c]))]
    ]
    notes = []
    if encoded:
        shown_codes = "; ".join(
            f"{c}: "
            + ", ".join(f"{k}={v}" for k, v in enumerate(categories[c][:8]))
            + (", ..." if len(categories[c]) > 8 else "")
            for c in encoded[:_SHOWN]
        )
        more = f" and {len(encoded) - _SHOWN} more" if len(encoded) > _SHOWN else ""
        notes.append(f"encoded categories as integer codes ({shown_codes}{more})")
    return out, Preparation("bdeu", categories=categories, notes=tuple(notes))


def _refuse_missing(frame: pd.DataFrame, score: str) -> None:
    missing = frame.isna()
    if missing.to_numpy().any():
        where = {
            str(c): [int(r) + 1 for r in np.flatnonzero(missing[c].to_numpy())[:_SHOWN]]
            for c in frame.columns
            if missing[c].any()
        }
        raise InputError(
            f"{score}: empty or missing cells in columns {list(where)} (first rows, counting data "
            f"rows from 1: {where}); expected a value in every cell: fill them or drop those rows"
        )


def _refuse_constant(frame: pd.DataFrame, score: str) -> None:
    constant = [str(c) for c in frame.columns if frame[c].nunique() <= 1]
    if constant:
        raise InputError(
            f"{score}: columns {constant} hold one value in every row, so they carry no "
            "evidence about any edge; --drop them"
        )


def _mixed_message(name: str, column: pd.Series, text_rows: pd.Series) -> str:
    row = int(np.flatnonzero(text_rows.to_numpy())[0])
    return (
        f"column {name!r} mixes numbers and text (e.g. {column.iloc[row]!r} in row {row + 1}, "
        "counting data rows from 1); expected one kind per column: fix those cells (a "
        "missing-value marker such as '?' must be removed) or --drop the column"
    )
