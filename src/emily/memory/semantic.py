"""Semantic memory: what Emily knows, as vectors in LanceDB.

Two tables: ``semantic_memory`` (text embedded by the sentence model; summaries, hypotheses,
stimuli, ingested records) and ``numeric_memory`` (numeric stimuli as packed binary
hypervectors, searched by Hamming distance). Every write is an upsert on ``id``, so replays and
re-runs of a consolidation step never duplicate. Table versions are kept (time travel) and
compaction runs on a schedule (every ``optimize_every`` writes) so tables do not fragment.

The embedding scheme can be changed without downtime: ``embedding_state`` (a one-row table) says
which column reads use and which extra column writes also fill; :mod:`emily.memory.reembed`
moves between schemes (dual-write, backfill, verify, switch reads, drop the old).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from emily.core import Clock, InputError, system_clock
from emily.memory._lance import open_or_create, sql_literal, table_names, upsert
from emily.memory._text import decode_text, encode_text
from emily.memory._time import from_micros, to_micros
from emily.memory.embedding import HypervectorEncoder, SentenceEmbedder, TextEmbedder
from emily.memory.models import SemanticHit, SemanticRecord

TABLE = "semantic_memory"
NUMERIC_TABLE = "numeric_memory"
STATE_TABLE = "embedding_state"
V1 = "all-MiniLM-L6-v2/v1"
V2 = "all-MiniLM-L6-v2/v2-nfkc"
INDEX_MIN_ROWS = 10_000
# Index: IVF_FLAT (cosine), probed in 64 of its ~sqrt(N) partitions. Measured on 100k random
# 384-d unit vectors (the hardest case for ANN), 100 queries: IVF_FLAT nprobes 20 / 60 / 120
# gave recall@10 0.92 / 1.00 / 1.00 at p50 ~9-10 ms, built in 2.5 s; IVF-HNSW-SQ gave at best
# 0.67 (ef 800, nprobes 50, refine x10) and took 67 s to build; a flat scan took 183 ms p50.
# benchmarks/memory.py reports the recall at its size.
SEARCH_NPROBES = 64


def default_embedders() -> dict[str, TextEmbedder]:
    """The embedding schemes this build knows, by name."""
    return {V1: SentenceEmbedder(), V2: SentenceEmbedder(normalize_text=True)}


def vector_field(name: str, dim: int, *, binary: bool = False) -> pa.Field:
    """A fixed-size-list vector column (float32, or packed uint8 for hypervectors)."""
    value = pa.uint8() if binary else pa.float32()
    return pa.field(name, pa.list_(value, dim))


def semantic_schema(dim: int, vector_column: str = "vector") -> pa.Schema:
    """Schema of the ``semantic_memory`` table."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("kind", pa.string()),
            pa.field("text", pa.string()),
            pa.field("source", pa.string()),
            pa.field("created_us", pa.int64()),
            pa.field("metadata", pa.string()),
            vector_field(vector_column, dim),
        ]
    )


@dataclass(frozen=True)
class EmbeddingState:
    """Which column reads use (and its scheme), and which column writes also fill (if any)."""

    read_column: str = "vector"
    read_scheme: str = V1
    dual_column: str = ""
    dual_scheme: str = ""


class SemanticMemory:
    """Upsert, search (with metadata filters), version and compact semantic knowledge.

    Args:
        db: A LanceDB connection (see :func:`emily.memory._lance.connect_lance`).
        embedders: Embedding schemes by name; defaults to :func:`default_embedders`.
        hypervectors: Encoder for numeric stimuli (optional; needed by :meth:`add_numeric`).
        optimize_every: Writes between scheduled compactions (``optimize``).
        clock: Injectable clock (the temporal lock).
    """

    def __init__(
        self,
        db: Any,
        *,
        embedders: Mapping[str, TextEmbedder] | None = None,
        hypervectors: HypervectorEncoder | None = None,
        optimize_every: int = 50,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.embedders = dict(embedders or default_embedders())
        self.hypervectors = hypervectors
        self._optimize_every = optimize_every
        self._writes = 0
        self._indexed: set[str] = set()
        self._clock = clock or system_clock()
        state = self.state()
        self.table = open_or_create(
            db, TABLE, semantic_schema(self.embedders[state.read_scheme].dim, state.read_column)
        )

    # -- embedding state ---------------------------------------------------------------
    def state(self) -> EmbeddingState:
        """The current embedding state (default: v1 in ``vector``, no dual write)."""
        if STATE_TABLE not in table_names(self.db):
            return EmbeddingState()
        rows = self.db.open_table(STATE_TABLE).to_arrow().to_pylist()
        return EmbeddingState(**json.loads(rows[0]["state"])) if rows else EmbeddingState()

    def set_state(self, state: EmbeddingState) -> None:
        """Persist a new embedding state (readers and writers pick it up on their next call)."""
        row = pa.table({"id": ["state"], "state": [json.dumps(state.__dict__)]})
        table = open_or_create(self.db, STATE_TABLE, row.schema)
        upsert(table, row)

    # -- writes ------------------------------------------------------------------------
    def add(self, records: Sequence[SemanticRecord]) -> int:
        """Embed and upsert records (by ``id``); writes every column the state says to fill."""
        if not records:
            return 0
        state = self.state()
        texts = [r.text for r in records]
        columns: dict[str, Any] = {
            "id": [encode_text(r.id) for r in records],
            "kind": [encode_text(r.kind) for r in records],
            "text": [encode_text(t) for t in texts],
            "source": [encode_text(r.source) for r in records],
            "created_us": [to_micros(r.created_at) for r in records],
            "metadata": [encode_text(r.metadata) for r in records],
        }
        targets = [(state.read_column, state.read_scheme)]
        if state.dual_column:
            targets.append((state.dual_column, state.dual_scheme))
        schema = self.table.schema
        for column, scheme in targets:
            vectors = self.embedders[scheme].embed(texts)
            columns[column] = pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]
            )
        rows = pa.table(columns)
        missing = [f for f in schema if f.name not in rows.column_names]
        for f in missing:  # a column being dropped or not yet filled: write nulls
            rows = rows.append_column(f, pa.nulls(rows.num_rows, f.type))
        upsert(self.table, rows.select(schema.names).cast(schema))
        self._after_write()
        return len(records)

    def _after_write(self) -> None:
        self._writes += 1
        if self._optimize_every and self._writes % self._optimize_every == 0:
            self.optimize()

    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id (used by tests and by ``forget`` flows)."""
        if ids:
            in_list = ", ".join(sql_literal(encode_text(i)) for i in ids)
            self.table.delete(f"id IN ({in_list})")

    # -- reads -------------------------------------------------------------------------
    def search(
        self,
        query: str | Sequence[float] | np.ndarray,
        k: int = 5,
        *,
        kind: str | None = None,
        source: str | None = None,
        since: datetime | None = None,
        version: int | None = None,
    ) -> list[SemanticHit]:
        """The ``k`` nearest records to ``query`` (cosine), optionally filtered and as of a version.

        Args:
            query: Text to embed with the scheme reads currently use, or an embedding already
                made with that scheme.
            k: Number of results.
            kind: Only records of this kind (e.g. ``summary``, ``hypothesis``, ``stimulus``).
            source: Only records from this source.
            since: Only records created at or after this time.
            version: Search the table as it was at this version (time travel).
        """
        if k <= 0:
            raise InputError(f"search: k must be > 0, got {k}")
        state = self.state()
        vector = (
            self.embedders[state.read_scheme].embed([query])[0]
            if isinstance(query, str)
            else np.asarray(query, dtype=np.float32)
        )
        table = self.table
        if version is not None:
            table = self.db.open_table(TABLE)
            table.checkout(version)
        builder = (
            table.search(vector, vector_column_name=state.read_column)
            .distance_type("cosine")
            .limit(k)
        )
        if _has_index(table, state.read_column):
            builder = builder.nprobes(SEARCH_NPROBES)
        where = _where(kind=kind, source=source, since=since)
        if where:
            builder = builder.where(where, prefilter=True)
        cols = ["id", "kind", "text", "source", "created_us", "metadata", "_distance"]
        return [_hit(r) for r in builder.select(cols).to_arrow().to_pylist()]

    def count(self, *, kind: str | None = None) -> int:
        """Number of records (optionally of one kind)."""
        return int(self.table.count_rows(_where(kind=kind) or None))

    def ids(self, *, kind: str | None = None) -> list[str]:
        """All record ids (optionally of one kind), for audits and tests."""
        query = self.table.search().select(["id"]).limit(None)
        where = _where(kind=kind)
        if where:
            query = query.where(where)
        return [decode_text(v) for v in query.to_arrow()["id"].to_pylist()]

    def get(self, ids: Sequence[str]) -> list[SemanticRecord]:
        """Records by id (missing ids are skipped)."""
        if not ids:
            return []
        in_list = ", ".join(sql_literal(encode_text(i)) for i in ids)
        cols = ["id", "kind", "text", "source", "created_us", "metadata"]
        rows = self.table.search().where(f"id IN ({in_list})").select(cols).limit(None)
        return [_hit({**r, "_distance": 0.0}).record for r in rows.to_arrow().to_pylist()]

    # -- stimulus index (the StimulusIndex protocol of episodic memory) -----------------
    def index_stimuli(self, stimuli: dict[str, str]) -> None:
        """Upsert each stimulus text under ``stimulus:<key>`` (idempotent).

        Keys indexed by this process are remembered, so a stimulus met again costs no embedding.
        """
        new = {k: t for k, t in stimuli.items() if k not in self._indexed}
        now = self._clock.now()
        self.add(
            [
                SemanticRecord(id=f"stimulus:{key}", kind="stimulus", text=text, created_at=now)
                for key, text in sorted(new.items())
            ]
        )
        if len(self._indexed) > 1_000_000:
            self._indexed.clear()
        self._indexed.update(new)

    def similar_stimuli(self, text: str, k: int) -> list[str]:
        """Keys of the ``k`` stimuli nearest to ``text``."""
        hits = self.search(text, k, kind="stimulus")
        return [h.record.id.removeprefix("stimulus:") for h in hits]

    # -- numeric stimuli as hypervectors ------------------------------------------------
    def add_numeric(self, ids: Sequence[str], values: Sequence[Sequence[float]]) -> int:
        """Encode numeric stimuli as hypervectors and upsert them into ``numeric_memory``."""
        if self.hypervectors is None:
            raise InputError("add_numeric: no hypervector encoder configured")
        if len(ids) != len(values):
            raise InputError("add_numeric: ids and values must have the same length")
        hv = self.hypervectors.encode(values)
        schema = pa.schema(
            [pa.field("id", pa.string()), vector_field("hv", hv.shape[1], binary=True)]
        )
        table = open_or_create(self.db, NUMERIC_TABLE, schema)
        rows = pa.table(
            {
                "id": [encode_text(i) for i in ids],
                "hv": pa.FixedSizeListArray.from_arrays(pa.array(hv.reshape(-1)), hv.shape[1]),
            },
            schema=schema,
        )
        upsert(table, rows)
        return len(ids)

    def search_numeric(self, values: Sequence[float], k: int = 5) -> list[tuple[str, float]]:
        """(id, Hamming distance) of the ``k`` numeric stimuli nearest to ``values``."""
        if self.hypervectors is None:
            raise InputError("search_numeric: no hypervector encoder configured")
        hv = self.hypervectors.encode([values])[0]
        table = self.db.open_table(NUMERIC_TABLE)
        rows = (
            table.search(hv, vector_column_name="hv")
            .distance_type("hamming")
            .limit(k)
            .to_arrow()
            .to_pylist()
        )
        return [(decode_text(r["id"]), float(r["_distance"])) for r in rows]

    # -- versions and maintenance ------------------------------------------------------
    def versions(self) -> list[tuple[int, datetime]]:
        """(version, commit time) of every kept version of the table, oldest first."""
        out = []
        for v in self.table.list_versions():
            ts = v["timestamp"]
            out.append((int(v["version"]), ts if ts.tzinfo else ts.replace(tzinfo=UTC)))
        return out

    @property
    def version(self) -> int:
        """The table's current version."""
        return int(self.table.version)

    def optimize(self, keep_versions_for: timedelta = timedelta(days=7)) -> None:
        """Compact fragments, refresh indexes, drop versions older than ``keep_versions_for``.

        Also builds the vector index (IVF_FLAT, cosine) once the table is large enough for an
        index to beat a flat scan.
        """
        self.table.optimize(cleanup_older_than=keep_versions_for)
        column = self.state().read_column
        if self.table.count_rows() >= INDEX_MIN_ROWS and not _has_index(self.table, column):
            from lancedb.index import IvfFlat

            self.table.create_index(column, config=IvfFlat(distance_type="cosine"))


def _has_index(table: Any, column: str) -> bool:
    return any(column in idx.columns for idx in table.list_indices())


def _where(
    *, kind: str | None = None, source: str | None = None, since: datetime | None = None
) -> str:
    parts = []
    if kind is not None:
        parts.append(f"kind = {sql_literal(encode_text(kind))}")
    if source is not None:
        parts.append(f"source = {sql_literal(encode_text(source))}")
    if since is not None:
        if since.tzinfo is None:
            raise InputError("since must be a timezone-aware datetime")
        parts.append(f"created_us >= {to_micros(since)}")
    return " AND ".join(parts)


def _hit(row: dict[str, Any]) -> SemanticHit:
    record = SemanticRecord(
        id=decode_text(row["id"]),
        kind=decode_text(row["kind"]),
        text=decode_text(row["text"]),
        source=decode_text(row["source"]),
        created_at=from_micros(row["created_us"]),
        metadata=decode_text(row["metadata"]),
    )
    return SemanticHit(record=record, distance=float(row["_distance"]))
