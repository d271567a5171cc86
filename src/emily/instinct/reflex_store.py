"""The reflexive store: where learned reflexes persist (LanceDB table ``reflexive_memory``).

:class:`ReflexMemory <emily.instinct.ReflexMemory>` writes every change through to a
:class:`ReflexStore` before it changes its in-memory index, and reloads the store on start, so a
crash loses nothing that ``learn``/``reinforce``/``forget`` returned from. Two implementations:
:class:`InMemoryReflexStore` (unit tests) and :class:`LanceDBReflexStore` (the runtime passes
``settings.home / "lancedb"``). Each LanceDB write is one atomic commit (a new table version).

The table keeps vectors packed (``fixed_size_list<uint8>[D/8]``, 1,250 bytes at D = 10,000)
in column ``vector``; ``idx_hdc_reflex`` is an IVF_FLAT Hamming index on it: LanceDB's PQ and
SQ quantizers, and so the HNSW variants built on them, refuse a uint8 column (LanceDB 0.40:
``create_index(index_type="IVF_PQ")`` fails with "unsupported data type: UInt8"). The hot path
never queries LanceDB: the index serves ad-hoc and migration queries; lookups scan memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from emily.core import SovereignModel
from emily.instinct._errors import SchemaDriftError

REFLEX_TABLE = "reflexive_memory"
REFLEX_INDEX = "idx_hdc_reflex"
VECTOR_COLUMN = "vector"


class StoredReflex(SovereignModel):
    """One reflex as persisted: its stimulus vector (packed bytes) and what it answers."""

    id: str
    vector: bytes
    response: str
    confidence: float
    confirmations: int
    updated_at: float  # seconds since the epoch (the injected clock's ``now()``)
    stimulus: str = ""  # a readable description of the stimulus, for audits
    encoder: str = ""  # fingerprint of the encoder that produced ``vector``


class ReflexStore(Protocol):
    """Durable home of reflexes; ids are unique, upserts are idempotent."""

    def load(self) -> list[StoredReflex]:
        """Every stored reflex."""
        ...

    def upsert(self, reflexes: Sequence[StoredReflex]) -> None:
        """Insert or replace by id; durable when it returns."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Remove by id (unknown ids are ignored); durable when it returns."""
        ...


class InMemoryReflexStore:
    """A dict-backed store for tests: same contract, no durability across processes."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredReflex] = {}

    def load(self) -> list[StoredReflex]:
        return list(self.rows.values())

    def upsert(self, reflexes: Sequence[StoredReflex]) -> None:
        self.rows.update((r.id, r) for r in reflexes)

    def delete(self, ids: Sequence[str]) -> None:
        for rid in ids:
            self.rows.pop(rid, None)


def reflex_schema(dim: int) -> pa.Schema:
    """Arrow schema of ``reflexive_memory`` for dimension ``dim`` bits."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("stimulus", pa.string()),
            pa.field("response", pa.string()),
            pa.field("confirmations", pa.int64()),
            pa.field(VECTOR_COLUMN, pa.list_(pa.uint8(), dim // 8)),
            pa.field("confidence", pa.float64()),
            pa.field("updated_at", pa.timestamp("us", tz="UTC")),
            pa.field("hdc_dim", pa.int32()),
            pa.field("encoder", pa.string()),
        ]
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _stored_dimension(schema: pa.Schema) -> int | None:
    """Bits per hypervector in a stored table, when its vector column is a fixed-size list."""
    if schema.get_field_index(VECTOR_COLUMN) < 0:
        return None
    kind = schema.field(VECTOR_COLUMN).type
    if not pa.types.is_fixed_size_list(kind):
        return None
    return int(kind.list_size) * 8


class LanceDBReflexStore:
    """Reflexes in a LanceDB table (``reflexive_memory``), written through on every change.

    Args:
        uri: LanceDB folder or URI (the runtime passes ``settings.home / "lancedb"``).
        dim: Dimension in bits; a table written with another dimension is refused.
        table_name: Override for tests that want several tables in one folder.
    """

    def __init__(self, uri: str | Path, dim: int, table_name: str = REFLEX_TABLE) -> None:
        import lancedb

        if "://" not in str(uri):
            Path(uri).mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self.schema = reflex_schema(dim)
        self.db = lancedb.connect(str(uri))
        if table_name in set(self.db.list_tables().tables):
            self.table = self.db.open_table(table_name)
            found = self.table.schema
            stored_bits = _stored_dimension(found)
            if stored_bits is not None and stored_bits != dim:
                raise SchemaDriftError(
                    f"table {table_name!r} at {uri} holds {stored_bits}-bit hypervectors but "
                    f"EMILY_HDC_DIM is {dim}; set EMILY_HDC_DIM={stored_bits} (the dimension "
                    "this home was built with) or use a fresh EMILY_HOME"
                )
            if (
                found.get_field_index(VECTOR_COLUMN) < 0
                or found.field(VECTOR_COLUMN).type != self.schema.field(VECTOR_COLUMN).type
                or set(found.names) != set(self.schema.names)
            ):
                raise SchemaDriftError(
                    f"table {table_name!r} at {uri} has schema {found}; expected {self.schema} "
                    f"(dimension {dim}); refusing to read or write it"
                )
        else:
            self.table = self.db.create_table(table_name, schema=self.schema, exist_ok=True)

    def load(self) -> list[StoredReflex]:
        rows = self.table.to_arrow().to_pylist()
        return [
            StoredReflex(
                id=r["id"],
                vector=bytes(r[VECTOR_COLUMN]),
                response=r["response"],
                confidence=float(r["confidence"]),
                confirmations=int(r["confirmations"]),
                updated_at=r["updated_at"].timestamp(),
                stimulus=r["stimulus"] or "",
                encoder=r["encoder"] or "",
            )
            for r in rows
        ]

    def _arrow(self, reflexes: Iterable[StoredReflex]) -> pa.Table:
        rs = list(reflexes)
        width = self.dim // 8
        values = pa.array(memoryview(b"".join(r.vector for r in rs)).cast("B"), pa.uint8())
        return pa.table(
            {
                "id": [r.id for r in rs],
                "stimulus": [r.stimulus for r in rs],
                "response": [r.response for r in rs],
                "confirmations": pa.array([r.confirmations for r in rs], pa.int64()),
                VECTOR_COLUMN: pa.FixedSizeListArray.from_arrays(values, width),
                "confidence": pa.array([r.confidence for r in rs], pa.float64()),
                "updated_at": pa.array([round(r.updated_at * 1e6) for r in rs], pa.int64()).cast(
                    pa.timestamp("us", tz="UTC")
                ),
                "hdc_dim": pa.array([self.dim] * len(rs), pa.int32()),
                "encoder": [r.encoder for r in rs],
            },
            schema=self.schema,
        )

    def upsert(self, reflexes: Sequence[StoredReflex]) -> None:
        if not reflexes:
            return
        (
            self.table.merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(self._arrow(reflexes))
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.table.delete("id IN (" + ", ".join(_quote(i) for i in ids) + ")")

    def compact(self) -> None:
        """Merge the small fragments that write-through leaves (schedule it, e.g. in sleep)."""
        self.table.optimize()


def _table(target: Any) -> Any:
    """A table from a table or a connection (migration 001 passes the connection)."""
    return target.open_table(REFLEX_TABLE) if hasattr(target, "open_table") else target


def create_hdc_index(target: Any) -> None:
    """Create (or replace) ``idx_hdc_reflex``: IVF_FLAT, Hamming, on ``vector``.

    ``target`` is the ``reflexive_memory`` table or a LanceDB connection holding it. Partitions
    grow with the table (one per 4,096 rows, 1..256).
    """
    from lancedb.index import IvfFlat

    table = _table(target)
    partitions = max(1, min(256, table.count_rows() // 4096))
    table.create_index(
        VECTOR_COLUMN,
        config=IvfFlat(distance_type="hamming", num_partitions=partitions),
        name=REFLEX_INDEX,
        replace=True,
    )


def drop_hdc_index(target: Any) -> None:
    """Drop ``idx_hdc_reflex`` if present (idempotent)."""
    table = _table(target)
    if has_hdc_index(table):
        table.drop_index(REFLEX_INDEX)


def has_hdc_index(target: Any) -> bool:
    """Whether ``idx_hdc_reflex`` exists (``False`` if the table itself does not)."""
    if hasattr(target, "open_table") and REFLEX_TABLE not in set(target.list_tables().tables):
        return False
    table = _table(target)
    table.checkout_latest()  # another handle may have created or dropped it
    return any(i.name == REFLEX_INDEX for i in table.list_indices())
