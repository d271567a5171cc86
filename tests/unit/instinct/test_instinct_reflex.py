"""ReflexMemory: learn, look up, reinforce, decay, forget; bad input never loses a reflex."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emily.core import InputError, ManualClock
from emily.instinct import (
    InMemoryReflexStore,
    MultiHashIndex,
    NumericFeature,
    ReflexHit,
    ReflexMemory,
    ReflexMiss,
    SchemaDriftError,
    StimulusEncoder,
    StimulusSchema,
    StoredReflex,
)
from emily.instinct._errors import HypervectorError, NonFiniteValueError
from emily.instinct._hdc import random_hv, seeded_rng

D = 2048
DAY = 86_400.0


def noisy(hv: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return hv ^ np.packbits(rng.random(hv.shape[-1] * 8) < fraction)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def memory(clock: ManualClock) -> ReflexMemory:
    return ReflexMemory(D, clock=clock, half_life_s=DAY)


def test_empty_memory_misses(memory: ReflexMemory) -> None:
    assert memory.lookup(np.zeros(D // 8, np.uint8)) == ReflexMiss(0.0, None, "empty")
    assert len(memory) == 0


def test_learned_stimulus_is_found_even_with_noise(memory: ReflexMemory) -> None:
    rng = seeded_rng(0, "reflex")
    vectors = random_hv(D, rng, n=50)
    for i, v in enumerate(vectors):
        memory.learn(v, f"r{i}", 0.5)
    hit = memory.lookup(noisy(vectors[7], 0.1))
    assert isinstance(hit, ReflexHit)
    assert hit.response == "r7"
    assert 0.85 < hit.similarity < 0.95
    assert hit.confidence == 0.5
    miss = memory.lookup(random_hv(D, rng))
    assert isinstance(miss, ReflexMiss)
    assert miss.reason == "dissimilar"
    assert miss.nearest_id is not None
    assert 0.4 < miss.similarity < 0.6


def test_batch_lookup_agrees_with_single_lookups(memory: ReflexMemory) -> None:
    rng = seeded_rng(1, "reflex")
    vectors = random_hv(D, rng, n=30)
    memory.learn_many(list(vectors), [f"r{i}" for i in range(30)], [1.0] * 30)
    queries = np.stack([noisy(vectors[i], 0.05, i) for i in range(30)] + [random_hv(D, rng)])
    assert memory.lookup_batch(queries) == [memory.lookup(q) for q in queries]
    with pytest.raises(HypervectorError):
        memory.lookup_batch(queries[0])


def test_relearning_a_stimulus_updates_one_reflex(memory: ReflexMemory) -> None:
    hv = random_hv(D, seeded_rng(2, "reflex"))
    rid = memory.learn(hv, "first", 0.4)
    assert memory.learn(hv, "second", 0.6) == rid
    assert len(memory) == 1
    hit = memory.lookup(hv)
    assert isinstance(hit, ReflexHit)
    assert (hit.response, hit.confidence, hit.similarity) == ("second", 0.6, 1.0)
    stored = memory.store.load()  # type: ignore[attr-defined]
    assert [r.confirmations for r in stored] == [2]


def test_duplicates_within_one_batch_collapse(memory: ReflexMemory) -> None:
    hv = random_hv(D, seeded_rng(3, "reflex"))
    ids = memory.learn_many([hv, hv], ["a", "b"], [0.1, 0.2])
    assert ids == [ids[0]]
    assert len(memory) == 1
    assert memory.lookup(hv) == ReflexHit(ids[0], "b", 1.0, 0.2)


def test_explicit_ids_and_vector_readback(memory: ReflexMemory) -> None:
    hv = random_hv(D, seeded_rng(4, "reflex"))
    assert memory.learn(hv, "x", reflex_id="stove") == "stove"
    assert "stove" in memory
    assert memory.ids() == ["stove"]
    assert np.array_equal(memory.vector("stove"), hv)
    memory.learn(random_hv(D, seeded_rng(5, "reflex")), "y", reflex_id="stove")
    assert memory.lookup(hv).reason == "dissimilar"  # type: ignore[union-attr]


def test_confidence_decays_with_the_injected_clock(
    memory: ReflexMemory, clock: ManualClock
) -> None:
    rid = memory.learn(random_hv(D, seeded_rng(6, "reflex")), "x", 0.8)
    clock.advance(DAY)
    assert memory.confidence(rid) == pytest.approx(0.4)
    clock.advance(DAY)
    assert memory.confidence(rid) == pytest.approx(0.2)


def test_reinforcement_moves_confidence_and_restarts_decay(
    memory: ReflexMemory, clock: ManualClock
) -> None:
    rid = memory.learn(random_hv(D, seeded_rng(7, "reflex")), "x", 0.8)
    clock.advance(DAY)
    assert memory.reinforce(rid, 0.5) == pytest.approx(0.7)  # 0.4 + 0.5 * 0.6
    assert memory.reinforce(rid, -0.5) == pytest.approx(0.35)
    assert memory.confidence(rid) == pytest.approx(0.35)
    assert memory.store.load()[0].confirmations == 2  # type: ignore[attr-defined]


def test_min_confidence_turns_stale_reflexes_into_misses(clock: ManualClock) -> None:
    memory = ReflexMemory(D, clock=clock, half_life_s=DAY, min_confidence=0.3)
    hv = random_hv(D, seeded_rng(8, "reflex"))
    memory.learn(hv, "x", 0.5)
    assert isinstance(memory.lookup(hv), ReflexHit)
    clock.advance(DAY)
    miss = memory.lookup(hv)
    assert isinstance(miss, ReflexMiss)
    assert miss.reason == "unconfident"


def test_no_decay_when_half_life_is_none(clock: ManualClock) -> None:
    memory = ReflexMemory(D, clock=clock, half_life_s=None)
    rid = memory.learn(random_hv(D, seeded_rng(9, "reflex")), "x", 0.5)
    clock.advance(100 * DAY)
    assert memory.confidence(rid) == 0.5


def test_forget_and_prune(memory: ReflexMemory, clock: ManualClock) -> None:
    rng = seeded_rng(10, "reflex")
    vectors = random_hv(D, rng, n=4)
    ids = memory.learn_many(list(vectors), ["a", "b", "c", "d"], [0.9, 0.1, 0.9, 0.1])
    assert memory.forget(ids[0]) is True
    assert memory.forget(ids[0]) is False
    assert memory.lookup(vectors[3]).response == "d"  # type: ignore[union-attr]
    clock.advance(DAY)
    assert sorted(memory.prune(0.2)) == sorted([ids[1], ids[3]])
    assert memory.ids() == [ids[2]]
    assert memory.lookup(vectors[2]).response == "c"  # type: ignore[union-attr]
    assert [r.id for r in memory.store.load()] == [ids[2]]  # type: ignore[attr-defined]
    assert memory.prune(0.0) == []


def test_raw_stimuli_go_through_the_encoder() -> None:
    schema = StimulusSchema(features={"t": NumericFeature(low=0.0, high=100.0)})
    encoder = StimulusEncoder(schema, dim=D)
    memory = ReflexMemory(D, encoder=encoder, clock=ManualClock())
    rid = memory.learn({"t": 50.0}, "warm")
    hit = memory.lookup({"t": 51.0})
    assert isinstance(hit, ReflexHit)
    assert hit.reflex_id == rid
    assert memory.store.load()[0].stimulus == '{"t": 50.0}'  # type: ignore[attr-defined]
    assert memory.store.load()[0].encoder == encoder.fingerprint  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="missing"):
        memory.lookup({"u": 1.0})


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m, v: m.learn(v[:-1], "x"), HypervectorError, "bytes"),
        (lambda m, v: m.learn(v.astype(np.int16), "x"), HypervectorError, "uint8"),
        (lambda m, v: m.learn("text", "x"), HypervectorError, "no encoder"),
        (lambda m, v: m.learn(v, 3), InputError, "response is a str"),
        (lambda m, v: m.learn(v, "x", math.nan), NonFiniteValueError, "nan"),
        (lambda m, v: m.learn(v, "x", 1.5), InputError, r"\[0, 1\]"),
        (lambda m, v: m.learn(v, "x", "high"), InputError, "number"),
        (lambda m, v: m.learn(v, "x", reflex_id=""), InputError, "non-empty"),
        (lambda m, v: m.learn_many([v], ["x", "y"], [1.0]), InputError, "equal lengths"),
        (lambda m, v: m.reinforce("keep", math.inf), NonFiniteValueError, "inf"),
        (lambda m, v: m.reinforce("keep", 2.0), InputError, r"\[-1, 1\]"),
        (lambda m, v: m.reinforce("keep", None), InputError, "number"),
        (lambda m, v: m.reinforce("nope", 0.5), InputError, "no reflex"),
        (lambda m, v: m.confidence("nope"), InputError, "no reflex"),
        (lambda m, v: m.lookup(np.zeros(3, np.uint8)), HypervectorError, "shape"),
        (lambda m, v: m.prune(math.nan), NonFiniteValueError, "nan"),
    ],
)
def test_bad_input_raises_and_loses_nothing(call: object, error: type, message: str) -> None:
    memory = ReflexMemory(D, clock=ManualClock())
    keep = random_hv(D, seeded_rng(11, "reflex"))
    memory.learn(keep, "kept", 0.7, reflex_id="keep")
    with pytest.raises(error, match=message):
        call(memory, random_hv(D, seeded_rng(12, "reflex")))  # type: ignore[operator]
    assert memory.ids() == ["keep"]
    assert memory.lookup(keep) == ReflexHit("keep", "kept", 1.0, 0.7)
    assert [r.id for r in memory.store.load()] == ["keep"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"threshold": 0.5}, "threshold"), ({"min_confidence": -0.1}, "min_confidence"),
     ({"half_life_s": 0.0}, "half_life_s"), ({"encoder": StimulusEncoder(dim=64)}, "dimension")],
)  # fmt: skip
def test_bad_configuration_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        ReflexMemory(D, **kwargs)  # type: ignore[arg-type]


def _stored(vector: bytes, encoder: str = "") -> StoredReflex:
    return StoredReflex(
        id="r", vector=vector, response="x", confidence=1.0, confirmations=1, updated_at=0.0,
        encoder=encoder,
    )  # fmt: skip


def test_loading_refuses_drifted_reflexes() -> None:
    store = InMemoryReflexStore()
    store.upsert([_stored(bytes(D // 8 - 1))])
    with pytest.raises(SchemaDriftError, match="bits"):
        ReflexMemory(D, store=store)
    store.upsert([_stored(bytes(D // 8), encoder="bsc-v1-other")])
    with pytest.raises(SchemaDriftError, match="encoded by"):
        ReflexMemory(D, store=store, encoder=StimulusEncoder(dim=D))
    assert len(ReflexMemory(D, store=store)) == 1  # without an encoder: raw vectors are fine


class FailingStore(InMemoryReflexStore):
    """A store whose writes fail: the in-memory index must not run ahead of it."""

    def upsert(self, reflexes: object) -> None:  # type: ignore[override]
        raise OSError("disk full")

    def delete(self, ids: object) -> None:  # type: ignore[override]
        raise OSError("disk full")


def test_a_failed_write_changes_nothing_in_memory() -> None:
    store = FailingStore()
    store.rows["keep"] = StoredReflex(
        id="keep", vector=random_hv(D, seeded_rng(13, "r")).tobytes(), response="kept",
        confidence=1.0, confirmations=1, updated_at=0.0,
    )  # fmt: skip
    memory = ReflexMemory(D, store=store, clock=ManualClock(), half_life_s=None)
    with pytest.raises(OSError, match="disk full"):
        memory.learn(random_hv(D, seeded_rng(14, "r")), "lost")
    with pytest.raises(OSError, match="disk full"):
        memory.forget("keep")
    with pytest.raises(OSError, match="disk full"):
        memory.reinforce("keep", 0.5)
    assert memory.ids() == ["keep"]
    assert memory.confidence("keep") == 1.0


def test_approximate_index_is_used_above_the_threshold_and_stays_correct() -> None:
    rng = seeded_rng(15, "reflex")
    memory = ReflexMemory(10_000, clock=ManualClock(), approximate_above=100)
    vectors = random_hv(10_000, rng, n=150)
    memory.learn_many(list(vectors[:120]), [f"r{i}" for i in range(120)], [1.0] * 120)
    assert not memory.approximate
    assert memory.rebuild_index()
    assert memory.approximate
    memory.learn_many(list(vectors[120:]), [f"r{i}" for i in range(120, 150)], [1.0] * 30)
    for i in (3, 60, 119, 121, 149):  # snapshot rows and rows learned after it
        assert memory.lookup(noisy(vectors[i], 0.1, i)).response == f"r{i}"  # type: ignore[union-attr]
    assert memory.lookup(random_hv(10_000, rng)).reason == "dissimilar"  # type: ignore[union-attr]
    memory.forget(memory.ids()[0])
    assert not memory.approximate  # a snapshot row changed: exact until rebuilt
    assert memory.lookup(vectors[5]).response == "r5"  # type: ignore[union-attr]
    assert memory.bytes_per_reflex == 1250
    small = ReflexMemory(64, approximate_above=10)
    assert small.rebuild_index() is False


def test_approximate_misses_are_confirmed_by_the_exact_scan() -> None:
    """At 20 % bit noise the hash index alone finds no candidate for about half of the known
    stimuli; the memory confirms every approximate miss exactly, so it answers as the scan."""
    dim, n = 10_000, 200
    vectors = random_hv(dim, seeded_rng(21, "ann"), n=n)
    memory = ReflexMemory(dim, clock=ManualClock(), approximate_above=10)
    memory.learn_many(list(vectors), [f"r{i}" for i in range(n)], [1.0] * n)
    assert memory.rebuild_index()
    queries = np.stack([noisy(v, 0.2, i) for i, v in enumerate(vectors)])
    index_alone = MultiHashIndex(vectors)
    assert sum(index_alone.nearest(q)[0] != i for i, q in enumerate(queries)) > n // 4
    answers = [memory.lookup(q) for q in queries]
    assert answers == memory.lookup_batch(queries)  # lookup_batch is the exact scan
    assert [a.response for a in answers if isinstance(a, ReflexHit)] == [f"r{i}" for i in range(n)]


def test_reload_picks_up_reflexes_written_by_another_writer() -> None:
    store = InMemoryReflexStore()
    runtime = ReflexMemory(D, store=store, clock=ManualClock())
    consolidation = ReflexMemory(D, store=store, clock=ManualClock())
    hv = random_hv(D, seeded_rng(16, "reflex"))
    consolidation.learn(hv, "new reflex")
    assert runtime.lookup(hv).reason == "empty"  # type: ignore[union-attr]
    assert runtime.reload() == 1
    assert runtime.lookup(hv).response == "new reflex"  # type: ignore[union-attr]
    store.upsert([_stored(bytes(D // 8 - 1))])
    with pytest.raises(SchemaDriftError):
        runtime.reload()
    assert runtime.lookup(hv).response == "new reflex"  # type: ignore[union-attr]
