"""Small LanceDB helpers shared by the semantic, reflexive and ledger tables."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import lancedb
import pyarrow as pa

from emily.core.settings import EmilySettings
from emily.memory.errors import StorageFullError

_NO_SPACE = ("No space left on device", f"os error {errno.ENOSPC}")


def lance_uri(settings: EmilySettings) -> str:
    """The LanceDB URI the settings choose (``HOME/lancedb`` unless a URI is set)."""
    return settings.lancedb_uri or str(settings.path("lancedb"))


def connect_lance(settings: EmilySettings) -> Any:
    """The LanceDB connection the settings choose (``HOME/lancedb`` unless a URI is set)."""
    uri = lance_uri(settings)
    if "://" not in uri:
        Path(uri).mkdir(parents=True, exist_ok=True)
    return lancedb.connect(uri)


def table_names(db: Any) -> set[str]:
    """Names of the tables in ``db`` (all pages)."""
    return set(db.list_tables().tables)


def open_or_create(db: Any, name: str, schema: pa.Schema) -> Any:
    """Open table ``name``, creating it empty with ``schema`` if it does not exist."""
    if name in table_names(db):
        return db.open_table(name)
    return db.create_table(name, schema=schema, exist_ok=True)


def sql_literal(value: str) -> str:
    """A SQL string literal for a LanceDB filter (single quotes doubled; no other escapes).

    LanceDB filters are SQL text, so values must be quoted; every value passes through here.
    """
    return "'" + value.replace("'", "''") + "'"


def upsert(table: Any, rows: pa.Table, key: str = "id") -> None:
    """Insert rows, replacing any with the same key: idempotent, so a replay never duplicates."""
    if rows.num_rows == 0:
        return
    try:
        table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(
            rows
        )
    except (OSError, RuntimeError) as exc:
        if not is_disk_full(exc):
            raise
        raise StorageFullError(
            f"no space left on the disk holding LanceDB table {table.name!r}: the write of "
            f"{rows.num_rows} row(s) was refused whole and nothing stored changed; free space "
            "and run it again (writes are upserts, a retry never duplicates)"
        ) from exc


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (an OS error, or LanceDB's Rust IO error as text) means ENOSPC."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return any(marker in str(exc) for marker in _NO_SPACE)
