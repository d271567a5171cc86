"""Zero-downtime re-embedding of semantic memory: dual-write, backfill, verify, switch, drop.

Each call of :func:`reembed` moves the store one scheme forward through persisted phases, so a
crash anywhere resumes where it stopped, and readers are served at every moment:

A. reads ``old``, no dual write → add the new column; writers start filling both (dual-write).
B. reads ``old``, dual-writes ``new`` → backfill rows whose ``new`` is null, verify every row
   has a ``new`` vector that matches a fresh embedding, then switch reads to ``new`` (and keep
   dual-writing ``old``, so a rollback at this point loses nothing).
C. reads ``new``, dual-writes ``old`` → drop ``old``; stop dual-writing. Done.

Going back (migration ``down``) is the same walk towards the old scheme.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from emily.memory.semantic import EmbeddingState, SemanticMemory, vector_field

_COLUMNS = ("vector", "vector_next")


def _other(column: str) -> str:
    return _COLUMNS[1] if column == _COLUMNS[0] else _COLUMNS[0]


def backfill(sem: SemanticMemory, column: str, scheme: str, batch: int = 256) -> int:
    """Embed, with ``scheme``, every row whose ``column`` is null; returns rows filled."""
    filled = 0
    embedder = sem.embedders[scheme]
    while True:
        rows = (
            sem.table.search()
            .where(f"{column} IS NULL")
            .select(["id", "text"])
            .limit(batch)
            .to_arrow()
        )
        if rows.num_rows == 0:
            return filled
        from emily.memory._text import decode_text

        vectors = embedder.embed([decode_text(t) for t in rows["text"].to_pylist()])
        update = pa.table(
            {
                "id": rows["id"],
                column: pa.FixedSizeListArray.from_arrays(
                    pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]
                ),
            }
        )
        sem.table.merge_insert("id").when_matched_update_all().execute(update)
        filled += rows.num_rows


def column_matches(sem: SemanticMemory, column: str, scheme: str, sample: int = 32) -> bool:
    """Whether ``column`` is full and a sample of it matches a fresh ``scheme`` embedding."""
    if column not in sem.table.schema.names:
        return False
    if sem.table.count_rows(f"{column} IS NULL") > 0:
        return False
    rows = sem.table.search().select(["text", column]).limit(sample).to_arrow()
    if rows.num_rows == 0:
        return True
    from emily.memory._text import decode_text

    fresh = sem.embedders[scheme].embed([decode_text(t) for t in rows["text"].to_pylist()])
    stored = np.asarray(rows[column].to_pylist(), dtype=np.float32)
    return bool(np.all(np.sum(fresh * stored, axis=1) > 0.999))


def reembed(sem: SemanticMemory, target: str) -> EmbeddingState:
    """Walk the store to scheme ``target`` (phases A→B→C above); idempotent and resumable."""
    if target not in sem.embedders:
        raise KeyError(f"unknown embedding scheme {target!r}")
    state = sem.state()
    if state.read_scheme == target and not state.dual_column:
        return state
    if state.read_scheme != target and not state.dual_column:  # phase A
        new = _other(state.read_column)
        if new not in sem.table.schema.names:
            sem.table.add_columns(vector_field(new, sem.embedders[target].dim))
        state = EmbeddingState(state.read_column, state.read_scheme, new, target)
        sem.set_state(state)
    if state.read_scheme != target:  # phase B
        backfill(sem, state.dual_column, target)
        if not column_matches(sem, state.dual_column, target):
            raise RuntimeError(f"backfilled column {state.dual_column} does not verify")
        state = EmbeddingState(
            state.dual_column, state.dual_scheme, state.read_column, state.read_scheme
        )
        sem.set_state(state)
    # phase C: reads are on the target; drop the old column and stop dual-writing it.
    if state.dual_column in sem.table.schema.names:
        sem.table.drop_columns([state.dual_column])
    state = EmbeddingState(state.read_column, state.read_scheme)
    sem.set_state(state)
    return state


def is_on(sem: SemanticMemory, scheme: str) -> bool:
    """Whether the store reads and writes only ``scheme``, and its vectors verify."""
    state = sem.state()
    return (
        state.read_scheme == scheme
        and not state.dual_column
        and column_matches(sem, state.read_column, scheme)
    )
