"""Zero-downtime re-embedding: reads work in every phase, a crash resumes, writes dual-fill."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emily.core.settings import EmilySettings
from emily.memory import EmbeddingState, SemanticMemory, SemanticRecord
from emily.memory._lance import connect_lance
from emily.memory.embedding import HashTextEmbedder
from emily.memory.reembed import backfill, column_matches, is_on, reembed
from emily.memory.semantic import V1, V2, vector_field

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def recs(start: int, n: int) -> list[SemanticRecord]:
    return [
        SemanticRecord(id=f"r{i}", kind="k", text=f"text {i}", created_at=NOW)
        for i in range(start, start + n)
    ]


@pytest.fixture
def sem(settings: EmilySettings, hash_embedders: dict[str, HashTextEmbedder]) -> SemanticMemory:
    memory = SemanticMemory(connect_lance(settings), embedders=hash_embedders)
    memory.add(recs(0, 20))
    return memory


def test_phases_serve_reads_and_dual_write(sem: SemanticMemory) -> None:
    # Phase A→B by hand: add the column and start dual-writing, as reembed does.
    sem.table.add_columns(vector_field("vector_next", 384))
    sem.set_state(EmbeddingState("vector", V1, "vector_next", V2))
    sem.add(recs(20, 5))  # new writes fill both columns
    assert sem.table.count_rows("vector_next IS NULL") == 20
    assert sem.search("text 22", 1)[0].record.id == "r22"  # reads still on v1
    assert not column_matches(sem, "vector_next", V2)
    assert backfill(sem, "vector_next", V2, batch=7) == 20
    assert column_matches(sem, "vector_next", V2)
    # a crash here; the next run resumes from the persisted state
    state = reembed(sem, V2)
    assert state == EmbeddingState("vector_next", V2)
    assert "vector" not in sem.table.schema.names
    assert is_on(sem, V2)
    assert sem.search("text 3", 1)[0].record.id == "r3"
    assert reembed(sem, V2) == state  # idempotent
    reembed(sem, V1)
    assert is_on(sem, V1)
    assert sem.search("text 24", 1)[0].record.id == "r24"
    with pytest.raises(KeyError):
        reembed(sem, "nope")


def test_resume_after_crash_in_each_phase(sem: SemanticMemory) -> None:
    reembed(sem, V2)
    reembed(sem, V1)
    # crash in phase B: column added, dual-write on, nothing backfilled yet
    sem.table.add_columns(vector_field("vector_next", 384))
    sem.set_state(EmbeddingState("vector", V1, "vector_next", V2))
    assert reembed(sem, V2).read_scheme == V2
    # crash in phase C: reads switched to v1, old v2 column not dropped yet
    sem.table.add_columns(vector_field("vector", 384))
    backfill(sem, "vector", V1)
    sem.set_state(EmbeddingState("vector", V1, "vector_next", V2))
    assert reembed(sem, V1) == EmbeddingState("vector", V1)
    assert "vector_next" not in sem.table.schema.names
    assert is_on(sem, V1)
    assert not column_matches(sem, "vector_next", V2)
