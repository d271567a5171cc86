"""The LanceDB reflexive store: write-through, survival of a killed process, the Hamming index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa
import pytest

from emily.core import ManualClock
from emily.instinct import (
    REFLEX_TABLE,
    LanceDBReflexStore,
    ReflexHit,
    ReflexMemory,
    SchemaDriftError,
    StimulusEncoder,
    create_hdc_index,
    drop_hdc_index,
    has_hdc_index,
)
from emily.instinct._hdc import random_hv, seeded_rng
from emily.instinct.reflex_store import REFLEX_INDEX

D = 10_000


def test_reflexes_survive_a_restart(tmp_path: Path) -> None:
    uri = tmp_path / "lancedb"
    clock = ManualClock()
    encoder = StimulusEncoder(dim=D)
    memory = ReflexMemory(D, store=LanceDBReflexStore(uri, D), encoder=encoder, clock=clock)
    rid = memory.learn("hot stove", "withdraw hand", 0.9)
    memory.learn("it's a \"quoted\" 'text' ✓", "fine", 0.5)
    gone = memory.learn("cold", "wear coat", 0.4)
    memory.reinforce(rid, 0.5)
    memory.forget(gone)
    before = [memory.lookup(s) for s in ("hot stove", "hot stoves", "quiet", "cold")]

    again = ReflexMemory(D, store=LanceDBReflexStore(uri, D), encoder=encoder, clock=clock)
    assert sorted(again.ids()) == sorted(memory.ids())
    assert [again.lookup(s) for s in ("hot stove", "hot stoves", "quiet", "cold")] == before
    assert again.confidence(rid) == pytest.approx(0.95)
    rows = {r.id: r for r in again.store.load()}
    assert rows[rid].confirmations == 2
    assert rows[rid].encoder == encoder.fingerprint
    assert rows[rid].stimulus == "hot stove"


def test_nothing_returned_from_learn_is_lost_when_the_process_is_killed(tmp_path: Path) -> None:
    uri = tmp_path / "lancedb"
    script = textwrap.dedent(
        f"""
        import os, sys
        from emily.instinct import LanceDBReflexStore, ReflexMemory, StimulusEncoder
        memory = ReflexMemory({D}, store=LanceDBReflexStore({str(uri)!r}, {D}),
                              encoder=StimulusEncoder(dim={D}))
        for i in range(5):
            memory.learn(f"stimulus {{i}}", f"response {{i}}", 0.8)
            print(i, flush=True)
        sys.stdin.readline()  # wait here until killed
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for i in range(5):
        assert proc.stdout.readline().strip() == str(i)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.stdin is not None
    proc.stdin.close()

    memory = ReflexMemory(D, store=LanceDBReflexStore(uri, D), encoder=StimulusEncoder(dim=D))
    assert len(memory) == 5
    for i in range(5):
        hit = memory.lookup(f"stimulus {i}")
        assert isinstance(hit, ReflexHit)
        assert hit.response == f"response {i}"


def test_hdc_index_functions_accept_a_table_or_a_connection(tmp_path: Path) -> None:
    uri = tmp_path / "lancedb"
    db = lancedb.connect(str(uri))
    assert has_hdc_index(db) is False  # no table yet
    store = LanceDBReflexStore(uri, D)
    memory = ReflexMemory(D, store=store)
    rng = seeded_rng(0, "index")
    vectors = random_hv(D, rng, n=300)
    memory.learn_many(list(vectors), [f"r{i}" for i in range(300)], [1.0] * 300)
    assert has_hdc_index(store.table) is False
    create_hdc_index(db)
    assert has_hdc_index(db) is True
    assert has_hdc_index(store.table) is True
    names = [i.name for i in store.table.list_indices()]
    assert names == [REFLEX_INDEX]
    create_hdc_index(store.table)  # replace: idempotent
    # the index answers Hamming queries on the packed column
    rows = (
        store.table.search(vectors[42], vector_column_name="vector")
        .distance_type("hamming")
        .limit(1)
        .to_list()
    )
    assert rows[0]["response"] == "r42"
    assert rows[0]["_distance"] == 0
    drop_hdc_index(db)
    assert has_hdc_index(store.table) is False
    drop_hdc_index(store.table)  # idempotent


def test_compaction_keeps_every_reflex(tmp_path: Path) -> None:
    store = LanceDBReflexStore(tmp_path / "lancedb", 64)
    memory = ReflexMemory(64, store=store, threshold=1.0)
    vectors = random_hv(64, seeded_rng(1, "compact"), n=20)
    for i, v in enumerate(vectors):
        memory.learn(v, f"r{i}")
    store.compact()
    again = ReflexMemory(64, store=LanceDBReflexStore(tmp_path / "lancedb", 64), threshold=1.0)
    assert sorted(again.ids()) == sorted(memory.ids())


def test_a_table_of_another_dimension_or_schema_is_refused(tmp_path: Path) -> None:
    uri = tmp_path / "lancedb"
    ReflexMemory(64, store=LanceDBReflexStore(uri, 64)).learn(np.zeros(8, np.uint8), "x")
    with pytest.raises(
        SchemaDriftError, match="64-bit hypervectors but EMILY_HDC_DIM is 128; set EMILY_HDC_DIM=64"
    ):
        LanceDBReflexStore(uri, 128)
    other = tmp_path / "other"
    db = lancedb.connect(str(other))
    db.create_table(REFLEX_TABLE, schema=pa.schema([pa.field("id", pa.string())]))
    with pytest.raises(SchemaDriftError, match="refusing"):
        LanceDBReflexStore(other, 64)
    assert len(ReflexMemory(64, store=LanceDBReflexStore(uri, 64))) == 1  # still intact


def test_a_table_written_by_another_encoder_is_refused(tmp_path: Path) -> None:
    uri = tmp_path / "lancedb"
    ReflexMemory(D, store=LanceDBReflexStore(uri, D), encoder=StimulusEncoder(dim=D)).learn(
        "a", "b"
    )
    with pytest.raises(SchemaDriftError, match="encoded by"):
        ReflexMemory(D, store=LanceDBReflexStore(uri, D), encoder=StimulusEncoder(dim=D, seed=1))


def test_open_reflex_memory_uses_the_settings_home(tmp_path: Path) -> None:
    from emily.core.settings import load_settings
    from emily.instinct import open_reflex_memory

    settings = load_settings(home=tmp_path / "home", hdc_dim=1024, seed=5)
    memory = open_reflex_memory(settings, clock=ManualClock(), threshold=0.8)
    rid = memory.learn("ping", "pong", 0.9)
    assert (tmp_path / "home" / "lancedb" / f"{REFLEX_TABLE}.lance").exists()
    again = open_reflex_memory(settings, clock=ManualClock())
    assert again.lookup("ping") == ReflexHit(rid, "pong", 1.0, 0.9)
    assert again.encoder is not None
    assert again.encoder.seed == 5
