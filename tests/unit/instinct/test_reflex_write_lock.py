"""A durable reflex write never holds the lookup lock: lookups answer while the store writes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from emily.instinct import ReflexHit, ReflexMemory
from emily.instinct.reflex_store import InMemoryReflexStore, StoredReflex

DIM = 1024


class BlockingStore(InMemoryReflexStore):
    """An in-memory store whose writes wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__()
        self.block = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def upsert(self, reflexes: Sequence[StoredReflex]) -> None:
        if self.block:
            self.entered.set()
            assert self.release.wait(30)
        super().upsert(reflexes)

    def delete(self, ids: Sequence[str]) -> None:
        if self.block:
            self.entered.set()
            assert self.release.wait(30)
        super().delete(ids)


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, DIM // 8), dtype=np.uint8)


def _blocked_writer(store: BlockingStore, write: object) -> threading.Thread:
    store.block = True
    thread = threading.Thread(target=write, daemon=True)  # type: ignore[arg-type]
    thread.start()
    assert store.entered.wait(30), "the writer never reached the store"
    return thread


def _lookup_in_thread(memory: ReflexMemory, query: np.ndarray) -> list[object]:
    found: list[object] = []
    reader = threading.Thread(target=lambda: found.append(memory.lookup(query)), daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "a lookup waited for the durable write"
    return found


def test_lookup_answers_while_learn_many_writes_and_new_reflex_appears_after() -> None:
    store = BlockingStore()
    memory = ReflexMemory(DIM, store=store, half_life_s=None)
    old, new = _vectors(2)
    memory.learn(old, "old")
    writer = _blocked_writer(store, lambda: memory.learn_many([new], ["new"], [1.0]))

    found = _lookup_in_thread(memory, old)
    assert isinstance(found[0], ReflexHit)
    assert found[0].response == "old"
    pending = _lookup_in_thread(memory, new)  # durable before visible: not there yet
    assert not (isinstance(pending[0], ReflexHit) and pending[0].response == "new")

    store.release.set()
    writer.join(30)
    hit = memory.lookup(new)
    assert isinstance(hit, ReflexHit)
    assert hit.response == "new"
    assert len(store.load()) == 2


def test_lookup_answers_while_reinforce_and_forget_write() -> None:
    store = BlockingStore()
    memory = ReflexMemory(DIM, store=store, half_life_s=None)
    a, b = _vectors(2, seed=1)
    rid = memory.learn(a, "a", 0.5)
    memory.learn(b, "b")
    writer = _blocked_writer(store, lambda: memory.reinforce(rid, 1.0))
    assert isinstance(_lookup_in_thread(memory, a)[0], ReflexHit)
    store.release.set()
    writer.join(30)
    assert memory.confidence(rid) == 1.0

    store.entered.clear()
    store.release.clear()
    writer = _blocked_writer(store, lambda: memory.forget(rid))
    assert isinstance(_lookup_in_thread(memory, b)[0], ReflexHit)
    store.release.set()
    writer.join(30)
    assert rid not in memory
    assert {r.id for r in store.load()} == set(memory.ids())


def test_concurrent_writers_keep_confirmations_consistent() -> None:
    memory = ReflexMemory(DIM, half_life_s=None)
    vector = _vectors(1, seed=2)[0]
    threads = [
        threading.Thread(target=lambda: [memory.learn(vector, "x") for _ in range(25)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rows = memory.store.load()
    assert len(rows) == 1
    assert rows[0].confirmations == 100
