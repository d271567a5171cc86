"""Semantic memory on LanceDB: upsert, filtered search, time travel, compaction, hypervectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from emily.core import InputError
from emily.core.settings import EmilySettings
from emily.memory import LevelHypervectorEncoder, SemanticMemory, SemanticRecord
from emily.memory import semantic as semantic_module
from emily.memory._lance import connect_lance
from emily.memory.embedding import HashTextEmbedder, SentenceEmbedder
from emily.memory.semantic import INDEX_MIN_ROWS, TABLE, V1, semantic_schema

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(i: int, text: str, kind: str = "summary", source: str = "test") -> SemanticRecord:
    return SemanticRecord(
        id=f"r{i}", kind=kind, text=text, source=source, created_at=T0 + timedelta(hours=i)
    )


@pytest.fixture
def sem(settings: EmilySettings, hash_embedders: dict[str, HashTextEmbedder]) -> SemanticMemory:
    return SemanticMemory(
        connect_lance(settings),
        embedders=hash_embedders,
        hypervectors=LevelHypervectorEncoder(512),
        optimize_every=3,
    )


def test_upsert_filters_and_get(sem: SemanticMemory) -> None:
    records = [rec(i, f"text {i}", kind="summary" if i % 2 else "hypothesis") for i in range(6)]
    assert sem.add(records) == 6
    assert sem.add(records[:2]) == 2  # upsert: no duplicates
    assert sem.add([]) == 0
    assert sem.count() == 6
    assert sem.count(kind="hypothesis") == 3
    hits = sem.search("text 3", 1)
    assert hits[0].record == records[3]
    assert hits[0].distance == pytest.approx(0.0, abs=1e-5)
    only = sem.search("text 3", 5, kind="hypothesis", source="test", since=T0 + timedelta(hours=2))
    assert {h.record.id for h in only} == {"r2", "r4"}
    assert sem.get(["r5", "nope"]) == [records[5]]
    assert sem.get([]) == []
    assert sorted(sem.ids(kind="summary")) == ["r1", "r3", "r5"]
    sem.delete(["r0"])
    sem.delete([])
    assert sem.count() == 5
    with pytest.raises(InputError):
        sem.search("x", 0)
    with pytest.raises(InputError):
        sem.search("x", 1, since=datetime(2026, 1, 1))


def test_versions_and_time_travel(sem: SemanticMemory) -> None:
    sem.add([rec(0, "first")])
    v_first = sem.version
    sem.add([rec(1, "second")])
    assert sem.version > v_first
    versions = [v for v, _ in sem.versions()]
    assert v_first in versions
    assert versions == sorted(versions)
    assert {h.record.id for h in sem.search("second", 5, version=v_first)} == {"r0"}
    assert {h.record.id for h in sem.search("second", 5)} == {"r0", "r1"}


def test_scheduled_optimize_builds_index_and_keeps_results(
    sem: SemanticMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic_module, "INDEX_MIN_ROWS", 300)
    for b in range(3):  # the third write triggers the scheduled optimize
        sem.add([rec(b * 100 + i, f"text {b * 100 + i}") for i in range(100)])
    assert any("vector" in idx.columns for idx in sem.table.list_indices())
    hits = sem.search("text 42", 3)
    assert hits[0].record.id == "r42"


def test_numeric_stimuli_as_hypervectors(sem: SemanticMemory) -> None:
    sem.add_numeric(["a", "b"], [[0.1, 0.2, 0.3], [0.9, -0.9, 0.5]])
    nearest = sem.search_numeric([0.1, 0.2, 0.31], 2)
    assert nearest[0][0] == "a"
    assert nearest[0][1] < nearest[1][1]
    with pytest.raises(InputError, match="same length"):
        sem.add_numeric(["a"], [])
    plain = SemanticMemory(sem.db, embedders=sem.embedders)
    with pytest.raises(InputError):
        plain.add_numeric(["a"], [[1.0]])
    with pytest.raises(InputError):
        plain.search_numeric([1.0])


def test_stimulus_index_protocol(sem: SemanticMemory) -> None:
    sem.index_stimuli({"k1": "hot stove", "k2": "cold water"})
    sem.index_stimuli({"k1": "hot stove"})
    assert sem.count(kind="stimulus") == 2
    assert sem.similar_stimuli("hot stove", 1) == ["k1"]


@pytest.mark.slow
def test_real_sentence_model_finds_meaning(
    settings: EmilySettings, sentence_embedder: SentenceEmbedder
) -> None:
    sem = SemanticMemory(connect_lance(settings), embedders={V1: sentence_embedder})
    sem.add(
        [
            rec(0, "the cat sat on the mat"),
            rec(1, "stock prices fell sharply today"),
            rec(2, "it is raining heavily outside"),
        ]
    )
    assert sem.search("a kitten resting on a rug", 1)[0].record.id == "r0"
    assert sem.search("umbrella weather", 1)[0].record.id == "r2"
    vectors = sentence_embedder.embed(["x", "bad \udcff bytes"])
    assert vectors.shape == (2, 384)


def test_indexed_search_recall_against_an_exact_scan(settings: EmilySettings) -> None:
    """Past INDEX_MIN_ROWS the IVF_FLAT index answers; its top 10 must match an exact scan."""
    n, dim = INDEX_MIN_ROWS + 2_000, 384
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = connect_lance(settings)
    rows = pa.table(
        {
            "id": [f"v{i}" for i in range(n)],
            "kind": ["summary"] * n,
            "text": [f"text {i}" for i in range(n)],
            "source": ["test"] * n,
            "created_us": [0] * n,
            "metadata": ["{}"] * n,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
        },
        schema=semantic_schema(dim),
    )
    db.create_table(TABLE, rows)
    sem = SemanticMemory(db, embedders={V1: HashTextEmbedder(dim)})
    sem.optimize()
    assert any("vector" in idx.columns for idx in sem.table.list_indices())
    recall = []
    for q in vectors[:50] + 0.3 * rng.standard_normal((50, dim)).astype(np.float32):
        got = {hit.record.id for hit in sem.search(q, 10)}
        exact = np.argsort(-(vectors @ (q / np.linalg.norm(q))))[:10]
        recall.append(len(got & {f"v{i}" for i in exact}) / 10)
    assert np.mean(recall) >= 0.95
