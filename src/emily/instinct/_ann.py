"""Approximate top-1 for large reflex sets: multi-index hashing over sampled bits (faiss).

A known stimulus comes back with a fraction ``p`` of its bits flipped. Bit-sampling LSH (Indyk &
Motwani 1998) keys each of ``L`` tables by ``b`` of the bits: a true match collides in one table
with probability ``(1 - p)^b``, a random row with ``2^-b``. Probing every key within one bit flip
(multi-probe; Lv et al. 2007) raises the first to ``(1-p)^b + b p (1-p)^(b-1)``, i.e. 0.29 at
``p = 0.1, b = 24``, so ``L = 16`` tables miss a true match with probability ``0.71^16 = 0.4 %``,
while each table lets ``25 / 2^24`` of random rows through (~1.5 per table at 1M). Candidates are
then ranked by their exact distance. Bits of random hypervectors are i.i.d., so the ``b``
contiguous bits of each table (faiss ``IndexBinaryMultiHash``, the substrings of multi-index
hashing, Norouzi et al. 2012) are as good as sampled ones.

Measured at 1M x 10,000 bits (``benchmarks/reflex_lookup.py``; ADR 0005) against faiss
``IndexBinaryHNSW``, which needs ``efSearch`` in the hundreds for the same recall.
"""

from __future__ import annotations

import faiss

from emily.instinct._hdc import Packed

DEFAULT_TABLES = 16
DEFAULT_BITS = 24
DEFAULT_FLIPS = 1


class MultiHashIndex:
    """A snapshot of rows ``[0, n)`` answering approximate top-1 queries.

    Args:
        matrix: Packed rows ``(n, B)``; row ``i`` is answered as slot ``i``.
        tables: Hash tables ``L``.
        bits: Bits per table key ``b`` (<= 64).
        flips: Key bits flipped when probing (multi-probe radius).
    """

    def __init__(
        self,
        matrix: Packed,
        tables: int = DEFAULT_TABLES,
        bits: int = DEFAULT_BITS,
        flips: int = DEFAULT_FLIPS,
    ) -> None:
        dim = matrix.shape[1] * 8
        if tables * bits > dim:
            raise ValueError(f"{tables} tables x {bits} bits exceed the {dim} bits of a vector")
        self.index = faiss.IndexBinaryMultiHash(dim, tables, bits)
        self.index.nflip = flips
        self.index.add(matrix)
        self.n = int(matrix.shape[0])

    def nearest(self, query: Packed) -> tuple[int, int]:
        """Approximate top-1 ``(slot, distance)``; ``(-1, large)`` when no candidate collides."""
        dist, idx = self.index.search(query.reshape(1, -1), 1)
        return int(idx[0, 0]), int(dist[0, 0])
