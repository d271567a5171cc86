"""``ReflexMemory``: System 1's associative memory from stimulus hypervectors to responses.

A reflex is ``(stimulus vector, response, confidence)``. ``lookup`` answers with the nearest
stored stimulus when its normalised Hamming similarity reaches ``threshold`` and its decayed
confidence reaches ``min_confidence``; otherwise it reports a miss, so the caller escalates to
cognition. The default 0.75 suits unrelated random stimuli (a random pair sits at 0.5 +- 0.005 at
D = 10,000); encoded records are far more alike than that (on breast_cancer, records of random
feature values sit at 0.76-0.81 from the nearest training record, so 0.75 answered 99.8 % of
them), so set the threshold from the learned stimuli with
:func:`~emily.instinct._calibration.calibrate_threshold`.

Confidence decays exponentially with the injected clock, ``c(t) = c0 * 2^(-(t - t0) / half_life)``,
computed lazily at read time (no sweep on the hot path), and ``reinforce`` moves it towards 1
(reward > 0) or 0 (reward < 0). Every change is written through to the store first; the
in-memory index changes only after the store accepted it, so a crash or an error loses nothing
already returned from.

Locking: writers (learn, reinforce, forget, prune, reload) are serialised by a write lock and
make their durable store write *outside* the lookup lock, which they take only to read the state
they change and then to apply the change (an atomic in-memory swap). A durable write costs
milliseconds (LanceDB); a lookup costs microseconds and must never wait for one.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from emily.core import Clock, InputError, system_clock
from emily.instinct._ann import MultiHashIndex
from emily.instinct._encoders import Stimulus, StimulusEncoder
from emily.instinct._errors import HypervectorError, NonFiniteValueError, SchemaDriftError
from emily.instinct._hdc import DEFAULT_DIM, Packed, check_packed
from emily.instinct._kernel import HammingScan
from emily.instinct.reflex_store import InMemoryReflexStore, ReflexStore, StoredReflex

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class ReflexHit:
    """A known stimulus: the stored response, how similar the stimulus was, how sure we are."""

    reflex_id: str
    response: str
    similarity: float
    confidence: float


@dataclass(frozen=True, slots=True)
class ReflexMiss:
    """No reflex answers: ``similarity`` of the nearest one (0.0 if empty) and why not."""

    similarity: float
    nearest_id: str | None
    reason: Literal["empty", "dissimilar", "unconfident"]


@dataclass(slots=True)
class _Meta:
    response: str
    confidence: float
    confirmations: int
    updated_at: float
    stimulus: str


def default_reflex_id(vector: Packed) -> str:
    """The id of a reflex learned without one: a digest of its stimulus vector."""
    return "rx-" + hashlib.sha256(vector.tobytes()).hexdigest()[:24]


def _describe(stimulus: Stimulus | Packed) -> str:
    if isinstance(stimulus, str):
        return stimulus
    if isinstance(stimulus, Mapping):
        return json.dumps(dict(stimulus), sort_keys=True, default=str)
    return ""


class ReflexMemory:
    """Learn, look up, reinforce, decay and forget reflexes; persisted through a store.

    Args:
        dim: Dimension in bits (``EMILY_HDC_DIM``).
        store: Durable store (default: an in-memory one); its reflexes are loaded now.
        encoder: Lets ``learn``/``lookup`` take raw stimuli; its fingerprint is stored with each
            reflex and a stored reflex with another fingerprint is refused on load.
        clock: Time for decay and timestamps (the temporal lock).
        threshold: Least similarity of a hit, in (0.5, 1].
        min_confidence: Least decayed confidence of a hit, in [0, 1].
        half_life_s: Confidence half-life in seconds; ``None`` disables decay.
        approximate_above: Row count from which ``rebuild_index`` builds the approximate index
            (``None``: always exact).
    """

    def __init__(
        self,
        dim: int = DEFAULT_DIM,
        *,
        store: ReflexStore | None = None,
        encoder: StimulusEncoder | None = None,
        clock: Clock | None = None,
        threshold: float = 0.75,
        min_confidence: float = 0.0,
        half_life_s: float | None = 7 * DAY_S,
        approximate_above: int | None = None,
    ) -> None:
        if encoder is not None and encoder.dim != dim:
            raise HypervectorError(f"encoder dimension {encoder.dim} != memory dimension {dim}")
        if not 0.5 < threshold <= 1.0:
            raise InputError(f"threshold must be in (0.5, 1], got {threshold}")
        if not 0.0 <= min_confidence <= 1.0:
            raise InputError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if half_life_s is not None and not (math.isfinite(half_life_s) and half_life_s > 0):
            raise InputError(f"half_life_s must be a positive number or None, got {half_life_s}")
        self.dim = dim
        self.store: ReflexStore = store if store is not None else InMemoryReflexStore()
        self.encoder = encoder
        self.clock = clock or system_clock()
        self.threshold = threshold
        self.min_confidence = min_confidence
        self.half_life_s = half_life_s
        self.approximate_above = approximate_above
        self._fingerprint = encoder.fingerprint if encoder else ""
        self._scan = HammingScan(dim)
        self._ids: list[str] = []
        self._slot: dict[str, int] = {}
        self._meta: list[_Meta] = []
        self._ann: MultiHashIndex | None = None
        self._lock = threading.RLock()  # guards the in-memory index: held for lookups and swaps
        self._write_lock = threading.Lock()  # serialises writers; held across store writes
        self.reload()

    # ------------------------------------------------------------------ loading
    def reload(self) -> int:
        """Re-read every reflex from the store (e.g. after sleep consolidation wrote new ones).

        The new state is built aside and swapped in at once: lookups never see half of it, and
        a drifted store raises :class:`SchemaDriftError` leaving the current state as it was.
        Returns the number of reflexes now held.
        """
        with self._write_lock:  # no writer may interleave with a reload
            return self._reload()

    def _reload(self) -> int:
        rows = self.store.load()
        width = self.dim // 8
        for r in rows:
            if len(r.vector) != width:
                raise SchemaDriftError(
                    f"stored reflex {r.id!r} has {len(r.vector) * 8} bits; expected {self.dim}"
                )
            if self._fingerprint and r.encoder and r.encoder != self._fingerprint:
                raise SchemaDriftError(
                    f"stored reflex {r.id!r} was encoded by {r.encoder!r}, not by this encoder "
                    f"({self._fingerprint!r}); re-encode or open it with the original schema"
                )
        scan = HammingScan(self.dim, capacity=max(len(rows), 1024))
        if rows:
            scan.add(np.frombuffer(b"".join(r.vector for r in rows), np.uint8).reshape(-1, width))
        ids = [r.id for r in rows]
        metas = [
            _Meta(r.response, r.confidence, r.confirmations, r.updated_at, r.stimulus) for r in rows
        ]
        with self._lock:
            self._scan, self._ids, self._meta = scan, ids, metas
            self._slot = {rid: i for i, rid in enumerate(ids)}
            self._ann = None
            self.rebuild_index()
            return len(ids)

    # ------------------------------------------------------------------ helpers
    def _vector(self, stimulus: Stimulus | Packed) -> Packed:
        if isinstance(stimulus, np.ndarray):
            return np.ascontiguousarray(check_packed(stimulus, self.dim, batch=False))
        if self.encoder is None:
            raise HypervectorError(
                "this memory has no encoder: pass a packed uint8 hypervector, "
                f"got {type(stimulus).__name__}"
            )
        return self.encoder.encode(stimulus)

    def _decayed(self, meta: _Meta, now: float) -> float:
        if self.half_life_s is None:
            return meta.confidence
        age = max(now - meta.updated_at, 0.0)
        return float(meta.confidence * 0.5 ** (age / self.half_life_s))

    def _now(self) -> float:
        return self.clock.now().timestamp()

    @staticmethod
    def _check_confidence(confidence: float) -> float:
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
            raise InputError(f"confidence must be a number in [0, 1], got {confidence!r}")
        if not math.isfinite(confidence):
            raise NonFiniteValueError(f"confidence is {confidence}; expected a number in [0, 1]")
        if not 0.0 <= confidence <= 1.0:
            raise InputError(f"confidence must be in [0, 1], got {confidence}")
        return float(confidence)

    def _record(self, rid: str, vector: Packed, meta: _Meta) -> StoredReflex:
        return StoredReflex(
            id=rid,
            vector=vector.tobytes(),
            response=meta.response,
            confidence=meta.confidence,
            confirmations=meta.confirmations,
            updated_at=meta.updated_at,
            stimulus=meta.stimulus,
            encoder=self._fingerprint,
        )

    # ------------------------------------------------------------------ writes
    def learn(
        self,
        stimulus: Stimulus | Packed,
        response: str,
        confidence: float = 1.0,
        *,
        reflex_id: str | None = None,
    ) -> str:
        """Store (or replace) the reflex ``stimulus -> response``; returns its id.

        The id defaults to a digest of the stimulus vector, so learning the same stimulus again
        updates one reflex (response, confidence, one more confirmation) instead of adding one.
        """
        return self.learn_many([stimulus], [response], [confidence], [reflex_id])[0]

    def learn_many(
        self,
        stimuli: Sequence[Stimulus | Packed] | Packed,
        responses: Sequence[str],
        confidences: Sequence[float],
        reflex_ids: Sequence[str | None] | None = None,
    ) -> list[str]:
        """``learn`` for many reflexes with one store write (all validated before any change)."""
        count = len(stimuli)
        ids_in = list(reflex_ids) if reflex_ids is not None else [None] * count
        if not len(responses) == len(confidences) == len(ids_in) == count:
            raise InputError("stimuli, responses, confidences and ids must have equal lengths")
        vectors = [self._vector(s) for s in stimuli]
        for response in responses:
            if not isinstance(response, str):
                raise InputError(f"a response is a str, got {type(response).__name__}")
        confs = [self._check_confidence(c) for c in confidences]
        with self._write_lock:  # one writer at a time: ids and confirmations see one state
            with self._lock:
                ids, records = self._records(vectors, stimuli, responses, confs, ids_in)
            # The durable write runs outside the lookup lock (lookups go on meanwhile) and
            # before the in-memory change: durable before visible.
            self.store.upsert(records)
            with self._lock:
                self._apply(ids, records)
        return ids

    def _apply(self, ids: Sequence[str], records: Sequence[StoredReflex]) -> None:
        """Make stored records visible to lookups (caller holds both locks)."""
        new_rows: list[np.ndarray] = []
        for rid, rec in zip(ids, records, strict=True):
            vec = np.frombuffer(rec.vector, np.uint8)
            meta = _Meta(
                rec.response, rec.confidence, rec.confirmations, rec.updated_at, rec.stimulus
            )
            slot = self._slot.get(rid)
            if slot is not None:
                self._scan.set(slot, vec)
                self._meta[slot] = meta
                self._invalidate(slot)
            else:
                self._slot[rid] = len(self._ids)
                self._ids.append(rid)
                self._meta.append(meta)
                new_rows.append(vec)
        if new_rows:
            self._scan.add(np.stack(new_rows))

    def _records(
        self,
        vectors: Sequence[Packed],
        stimuli: Sequence[Stimulus | Packed] | Packed,
        responses: Sequence[str],
        confidences: Sequence[float],
        given_ids: Sequence[str | None],
    ) -> tuple[list[str], list[StoredReflex]]:
        """One record per distinct id (a later duplicate in the batch wins), not yet stored."""
        now = self._now()
        order: dict[str, int] = {}
        records: list[StoredReflex] = []
        for vec, stim, resp, conf, given in zip(
            vectors, stimuli, responses, confidences, given_ids, strict=True
        ):
            rid = default_reflex_id(vec) if given is None else given
            if not rid:
                raise InputError("a reflex id must be a non-empty string")
            seen = order.get(rid)
            if seen is not None:
                prior = records[seen].confirmations
            else:
                prior = self._meta[self._slot[rid]].confirmations if rid in self._slot else 0
            meta = _Meta(resp, conf, prior + 1, now, _describe(stim))
            if seen is not None:
                records[seen] = self._record(rid, vec, meta)
            else:
                order[rid] = len(records)
                records.append(self._record(rid, vec, meta))
        return list(order), records

    def reinforce(self, reflex_id: str, reward: float) -> float:
        """Move a reflex's (decayed) confidence towards 1 (``reward > 0``) or 0 (``< 0``).

        ``c' = c + r (1 - c)`` for ``r in (0, 1]``, ``c' = c (1 + r)`` for ``r in [-1, 0)``.
        Returns the new confidence.
        """
        if isinstance(reward, bool) or not isinstance(reward, (int, float)):
            raise InputError(f"reward must be a number in [-1, 1], got {reward!r}")
        if not math.isfinite(reward):
            raise NonFiniteValueError(f"reward is {reward}; expected a number in [-1, 1]")
        if not -1.0 <= reward <= 1.0:
            raise InputError(f"reward must be in [-1, 1], got {reward}")
        with self._write_lock:
            with self._lock:
                slot = self._require(reflex_id)
                meta = self._meta[slot]
                now = self._now()
                c = self._decayed(meta, now)
                c = c + reward * (1.0 - c) if reward > 0 else c * (1.0 + reward)
                new = _Meta(meta.response, c, meta.confirmations + (reward > 0), now, meta.stimulus)
                record = self._record(reflex_id, self._scan.vector(slot), new)
            self.store.upsert([record])  # outside the lookup lock; writers are serialised
            with self._lock:
                self._meta[self._slot[reflex_id]] = new
            return c

    def forget(self, reflex_id: str) -> bool:
        """Remove a reflex; ``False`` if there was none with that id."""
        with self._write_lock:
            if reflex_id not in self._slot:
                return False
            self.store.delete([reflex_id])  # outside the lookup lock; writers are serialised
            with self._lock:
                self._remove(reflex_id)
            return True

    def prune(self, min_confidence: float) -> list[str]:
        """Forget every reflex whose decayed confidence fell below ``min_confidence``."""
        floor = self._check_confidence(min_confidence)
        with self._write_lock:
            with self._lock:
                now = self._now()
                gone = [rid for rid, m in zip(self._ids, self._meta, strict=True)
                        if self._decayed(m, now) < floor]  # fmt: skip
            if gone:
                self.store.delete(gone)  # outside the lookup lock; writers are serialised
                with self._lock:
                    for rid in gone:
                        self._remove(rid)
            return gone

    def _remove(self, rid: str) -> None:
        slot = self._slot.pop(rid)
        moved = self._scan.remove(slot)
        last_id = self._ids.pop()
        last_meta = self._meta.pop()
        if moved is not None:
            self._ids[slot], self._meta[slot] = last_id, last_meta
            self._slot[last_id] = slot
            self._invalidate(moved)
        self._invalidate(slot)

    def _invalidate(self, slot: int) -> None:
        if self._ann is not None and slot < self._ann.n:
            self._ann = None  # a snapshot row changed: exact scans until rebuild_index()

    def _require(self, reflex_id: str) -> int:
        slot = self._slot.get(reflex_id)
        if slot is None:
            raise InputError(f"no reflex with id {reflex_id!r}")
        return slot

    # ------------------------------------------------------------------ reads
    def lookup(self, query: Stimulus | Packed) -> ReflexHit | ReflexMiss:
        """The reflex of the nearest stored stimulus, or a miss (see the module docstring)."""
        q = self._vector(query)
        with self._lock:
            slot, dist = self._nearest(q)
            return self._answer(slot, dist, self._now())

    def lookup_batch(self, queries: Packed) -> list[ReflexHit | ReflexMiss]:
        """``lookup`` for each row of a packed ``(Q, B)`` batch (exact scan)."""
        batch = np.ascontiguousarray(check_packed(queries, self.dim, batch=True))
        with self._lock:
            slots, dists = self._scan.nearest_batch(batch)
            now = self._now()
            return [self._answer(int(s), int(d), now) for s, d in zip(slots, dists, strict=True)]

    def _nearest(self, q: Packed) -> tuple[int, int]:
        """Top-1 ``(slot, distance)``: approximate when an index is built, but a miss is exact.

        The hash index can lose a true match (no key collides, or only a worse row does) but
        never invents one: the distance of a row it returns is exact. So a hit it finds is a
        true hit, and an answer below the threshold is confirmed by the exact scan before it is
        reported as a miss (at 20 % bit noise the index alone missed 57 % of known stimuli).
        Novel stimuli then cost a full scan; known ones keep the approximate speed.
        """
        ann = self._ann
        if ann is None:
            return self._scan.nearest(q)
        slot, dist = ann.nearest(q)
        if slot < 0:
            slot, dist = -1, self.dim + 1
        if self._scan.n > ann.n:  # rows learned since the snapshot: scan them exactly
            late, late_dist = self._scan.nearest(q, start=ann.n)
            if late_dist < dist:
                slot, dist = late, late_dist
        if slot < 0 or 1.0 - dist / self.dim < self.threshold:
            return self._scan.nearest(q)
        return slot, dist

    def _answer(self, slot: int, dist: int, now: float) -> ReflexHit | ReflexMiss:
        if slot < 0:
            return ReflexMiss(0.0, None, "empty" if not self._ids else "dissimilar")
        sim = 1.0 - dist / self.dim
        rid = self._ids[slot]
        if sim < self.threshold:
            return ReflexMiss(sim, rid, "dissimilar")
        meta = self._meta[slot]
        conf = self._decayed(meta, now)
        if conf < self.min_confidence:
            return ReflexMiss(sim, rid, "unconfident")
        return ReflexHit(rid, meta.response, sim, conf)

    def confidence(self, reflex_id: str) -> float:
        """Decayed confidence of a reflex now."""
        with self._lock:
            return self._decayed(self._meta[self._require(reflex_id)], self._now())

    def vector(self, reflex_id: str) -> Packed:
        """A copy of a reflex's stored stimulus vector."""
        with self._lock:
            return self._scan.vector(self._require(reflex_id))

    def ids(self) -> list[str]:
        """Ids of every reflex (in slot order)."""
        with self._lock:
            return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, reflex_id: object) -> bool:
        return reflex_id in self._slot

    @property
    def bytes_per_reflex(self) -> float:
        """Bytes of stimulus vectors held per reflex in the exact index (``D / 8``)."""
        return self._scan.width

    # ------------------------------------------------------------------ index
    def rebuild_index(self) -> bool:
        """Snapshot all rows into the approximate index if ``approximate_above`` is reached.

        Rows learned later are scanned exactly beside it; a changed or forgotten snapshot row
        drops the index (exact scans) until the next rebuild. Returns whether one was built.
        """
        with self._lock:
            if self.approximate_above is None or len(self) < self.approximate_above:
                self._ann = None
                return False
            self._ann = MultiHashIndex(self._scan.matrix())
            return True

    @property
    def approximate(self) -> bool:
        """Whether lookups currently go through the approximate index."""
        return self._ann is not None
