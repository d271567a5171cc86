"""Exact nearest-neighbour scan over packed hypervectors: a two-stage popcount kernel.

The Hamming distance is a sum over bytes, so the distance over a prefix of the bytes is a lower
bound of the full distance. Rows are stored split in two contiguous blocks: a *head* of about a
quarter of the bytes (320 of 1,250 at D = 10,000) and the *tail*. A lookup

1. scans every head with faiss's popcount kernel (``faiss.hammings``: AVX2/AVX-512 popcount),
2. completes the distance of the best head (an upper bound ``U`` on the answer),
3. completes only rows whose head distance is ``<= U`` (no other row can win), and falls back to
   a full tail scan when that is more than an eighth of the rows.

The answer is exactly the top-1 of a full scan (ties go to the lowest slot). For a known
stimulus seen with noise, ``U`` is small and one row survives, so the scan reads ~26 % of the
bytes; for a novel stimulus (no close row) it reads them all, as a flat scan does. Measured
numbers are in ``docs/adr/0005-hdc-reflex-index.md``.

The kernel is not re-entrant (it reuses its distance buffers); callers hold a lock.

:func:`distance_blocks` is the other shape of the same kernel: every pair of a set, a block of
rows at a time, for statistics that need more than the top-1 (leave-one-out and other-label
neighbours in :mod:`emily.instinct._calibration`). No pruning applies there, so it is one
full popcount pass: ``n^2 D / 8`` bytes (5 s for 10,000 x 10,000 bits on two cores).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from emily.instinct._hdc import Packed, check_packed, n_bytes

_faiss: Any = faiss  # faiss's low-level functions are untyped

HEAD_FRACTION = 0.256
QUERY_CHUNK = 64  # queries per head scan in a batch: 64 x N int32 distances in flight
BLOCK_ROWS = 256  # rows per all-pairs block: 256 x N int32 distances in flight


def _head_width(width: int) -> int:
    return min(width, max(8, 8 * round(width * HEAD_FRACTION / 8)))


class HammingScan:
    """A growable packed matrix with exact top-1 Hamming search.

    Args:
        dim: Dimension in bits.
        capacity: Initial rows (doubles when full).
    """

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self.width = n_bytes(dim)
        self.head_width = _head_width(self.width)
        self.n = 0
        cap = max(capacity, 1)
        self._head = np.zeros((cap, self.head_width), dtype=np.uint8)
        self._tail = np.zeros((cap, self.width - self.head_width), dtype=np.uint8)
        self._d0 = np.zeros(cap, dtype=np.int32)
        self._d1 = np.zeros(cap, dtype=np.int32)

    @property
    def capacity(self) -> int:
        return int(self._head.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held for stored vectors (both blocks, rows in use)."""
        return self.n * self.width

    def _grow(self, need: int) -> None:
        cap = self.capacity
        if need <= cap:
            return
        while cap < need:
            cap *= 2
        for name in ("_head", "_tail"):
            old = getattr(self, name)
            new = np.zeros((cap, old.shape[1]), dtype=np.uint8)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._d0 = np.zeros(cap, dtype=np.int32)
        self._d1 = np.zeros(cap, dtype=np.int32)

    def add(self, vectors: Packed) -> int:
        """Append rows ``(k, B)``; returns the first new slot."""
        rows = check_packed(vectors, self.dim, batch=True)
        first = self.n
        self._grow(first + rows.shape[0])
        self._head[first : first + rows.shape[0]] = rows[:, : self.head_width]
        self._tail[first : first + rows.shape[0]] = rows[:, self.head_width :]
        self.n += rows.shape[0]
        return first

    def set(self, slot: int, vector: Packed) -> None:
        """Overwrite one row."""
        self._head[slot] = vector[: self.head_width]
        self._tail[slot] = vector[self.head_width :]

    def remove(self, slot: int) -> int | None:
        """Delete a row by moving the last row into it; returns the moved row's old slot."""
        last = self.n - 1
        self.n = last
        if slot == last:
            return None
        self._head[slot] = self._head[last]
        self._tail[slot] = self._tail[last]
        return last

    def vector(self, slot: int) -> Packed:
        """A copy of one stored row."""
        return np.concatenate([self._head[slot], self._tail[slot]])

    def matrix(self) -> Packed:
        """A copy of all stored rows, ``(n, B)``."""
        return np.concatenate([self._head[: self.n], self._tail[: self.n]], axis=1)

    def nearest(self, query: Packed, start: int = 0) -> tuple[int, int]:
        """Exact top-1 ``(slot, hamming distance)`` among slots ``>= start``; ``(-1, dim + 1)``
        when there are none.

        ``query`` must be a valid packed ``(B,)`` uint8 vector (callers validate once).
        """
        n = self.n - start
        if n <= 0:
            return -1, self.dim + 1
        q = np.ascontiguousarray(query)
        qh, qt = q[: self.head_width], q[self.head_width :]
        head, tail = self._head[start : self.n], self._tail[start : self.n]
        d0 = self._d0
        _faiss.hammings(
            faiss.swig_ptr(qh), faiss.swig_ptr(head), 1, n, self.head_width, faiss.swig_ptr(d0)
        )
        slot, dist = self._finish(d0[:n], qt, tail)
        return slot + start, dist

    def _finish(self, d0: npt.NDArray[np.int32], qt: Packed, tail: Packed) -> tuple[int, int]:
        n = d0.shape[0]
        best = int(np.argmin(d0))
        if qt.shape[0] == 0:
            return best, int(d0[best])
        bound = int(d0[best]) + int(np.bitwise_count(qt ^ tail[best]).sum())
        survivors = np.flatnonzero(d0 <= bound)
        if survivors.shape[0] * 8 > n:  # no pruning to speak of: scan every tail
            d1 = self._d1
            _faiss.hammings(
                faiss.swig_ptr(qt), faiss.swig_ptr(tail), 1, n, qt.shape[0], faiss.swig_ptr(d1)
            )
            full = d0 + d1[:n]
            slot = int(np.argmin(full))
            return slot, int(full[slot])
        rest = np.bitwise_count(tail[survivors] ^ qt).sum(axis=1, dtype=np.int64)
        full_s = d0[survivors] + rest
        pick = int(np.argmin(full_s))  # survivors ascend, so ties go to the lowest slot
        return int(survivors[pick]), int(full_s[pick])

    def nearest_batch(self, queries: Packed) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Exact top-1 for each row of ``queries`` ``(Q, B)``: slots and distances."""
        nq = queries.shape[0]
        slots = np.full(nq, -1, dtype=np.int64)
        dists = np.full(nq, self.dim + 1, dtype=np.int64)
        n = self.n
        if n == 0 or nq == 0:
            return slots, dists
        heads = np.ascontiguousarray(queries[:, : self.head_width])
        tails = np.ascontiguousarray(queries[:, self.head_width :])
        block = np.empty((min(QUERY_CHUNK, nq), n), dtype=np.int32)
        for start in range(0, nq, QUERY_CHUNK):
            stop = min(start + QUERY_CHUNK, nq)
            chunk = np.ascontiguousarray(heads[start:stop])
            _faiss.hammings(
                faiss.swig_ptr(chunk), faiss.swig_ptr(self._head), stop - start, n,
                self.head_width, faiss.swig_ptr(block),
            )  # fmt: skip
            for i in range(stop - start):
                slots[start + i], dists[start + i] = self._finish(
                    block[i, :n], tails[start + i], self._tail[:n]
                )
        return slots, dists


def hamming_matrix(queries: Packed, rows: Packed) -> npt.NDArray[np.int32]:
    """Hamming distances ``(Q, N)`` of every query ``(Q, B)`` to every row ``(N, B)`` (faiss
    popcount; the caller has validated both as packed batches of one width)."""
    q, r = np.ascontiguousarray(queries), np.ascontiguousarray(rows)
    out = np.empty((q.shape[0], r.shape[0]), dtype=np.int32)
    if out.size:
        _faiss.hammings(
            faiss.swig_ptr(q), faiss.swig_ptr(r), q.shape[0], r.shape[0], q.shape[1],
            faiss.swig_ptr(out),
        )  # fmt: skip
    return out


def distance_blocks(rows: Packed, dim: int) -> Iterator[tuple[int, npt.NDArray[np.int32]]]:
    """All-pairs Hamming distances of ``rows`` ``(n, B)``: ``(start, block)`` with ``block`` the
    ``(b, n)`` distances of rows ``start .. start + b`` to every row, ``BLOCK_ROWS`` at a time."""
    matrix = np.ascontiguousarray(check_packed(rows, dim, batch=True))
    for start in range(0, matrix.shape[0], BLOCK_ROWS):
        yield start, hamming_matrix(matrix[start : start + BLOCK_ROWS], matrix)
