"""Seeded item memories: the same symbol gets the same hypervector in every process.

An item memory (Kanerva 2009, section 4) maps each atomic symbol (a feature name, a category, a
character) to a random hypervector. Vectors are derived from ``(seed, namespace, symbol)`` by
SHA-256 (not Python's salted ``hash``), so a codebook needs no storage to be reproduced: a
restarted runtime re-derives exactly the vectors its stored reflexes were encoded with.

Level hypervectors (Rahimi et al. 2016, "Hyperdimensional biosignal processing"; Kleyko et al.
2023, "A survey on HDC/VSA", part I, section 3.3) encode a continuous value: level 0 is random,
each next level flips the next ``D / (2 (L - 1))`` bits of one seeded order, so level ``L - 1``
is orthogonal to level 0 and ``similarity(level_i, level_j) = 1 - |i - j| / (2 (L - 1))``:
monotone in the distance of the values, linear across the range.

:class:`BoundLevels` stacks the level codebooks of a record schema, each bound to its feature's
key, so the numeric parts of a record are one gather instead of a lookup and an XOR per feature.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from emily.instinct._errors import NonFiniteValueError
from emily.instinct._hdc import Packed, n_bytes, random_hv, seeded_rng

LEVEL_BLOCK = 256  # levels built per step: a (256, D) bit block in flight
ITEM_CACHE = 4096  # item vectors a codebook keeps (5 MB at D = 10,000), least recently used go


class ItemMemory:
    """Symbol -> random hypervector, derived on demand, the most recently used ones cached.

    The cache is an LRU of at most ``cache_size`` vectors: an open vocabulary (every code point
    of a text, every value of a free categorical column) would otherwise keep ``D / 8`` bytes per
    symbol ever seen, without bound (issue 16: +517 MB after ~400 KB of text). Evicting is safe
    because a vector is a function of ``(seed, namespace, symbol)``: re-deriving it gives the
    same bits.

    Args:
        dim: Dimension in bits (multiple of 8).
        seed: Codebook seed (``EMILY_SEED``).
        namespace: Separates codebooks that share symbols (feature names vs. categories).
        cache_size: Most vectors kept (``None``: no bound, for closed vocabularies only).
    """

    def __init__(
        self,
        dim: int,
        seed: int = 0,
        namespace: str = "item",
        *,
        cache_size: int | None = ITEM_CACHE,
    ) -> None:
        n_bytes(dim)
        if cache_size is not None and cache_size < 0:
            raise ValueError(f"cache_size must be >= 0 or None, got {cache_size}")
        self.dim = dim
        self.seed = seed
        self.namespace = namespace
        self._cached = functools.lru_cache(maxsize=cache_size)(self._frozen)

    def __getitem__(self, symbol: str) -> Packed:
        hv: Packed = self._cached(symbol)
        return hv

    def _frozen(self, symbol: str) -> Packed:
        hv = self.derive(symbol)
        hv.flags.writeable = False  # shared by every caller: nobody may edit it
        return hv

    def derive(self, symbol: str) -> Packed:
        """The vector of ``symbol``, derived afresh and not cached (for callers that bound their
        own cache, e.g. over an open vocabulary)."""
        return random_hv(self.dim, seeded_rng(self.seed, f"{self.namespace}/{symbol}"))

    def __len__(self) -> int:
        """Vectors held in the cache now (at most ``cache_size``)."""
        return self._cached.cache_info().currsize


class LevelCodebook:
    """Level hypervectors for values in ``[low, high]``, quantised to ``levels`` steps.

    Resolution: values closer than ``(high - low) / (levels - 1)`` may share a level (and a
    vector); values outside the range saturate at the end levels.

    Args:
        dim: Dimension in bits.
        low: Value of level 0.
        high: Value of the last level.
        levels: Number of levels (>= 2; at most ``D / 2 + 1`` so each step flips >= 1 bit).
        seed: Codebook seed.
        label: Name of the feature (each feature gets its own independent level set).
    """

    def __init__(
        self, dim: int, low: float, high: float, levels: int, *, seed: int = 0, label: str = ""
    ) -> None:
        width = n_bytes(dim)
        if not math.isfinite(high - low) or not low < high:  # finite ends, finite width
            raise NonFiniteValueError(
                f"level range needs finite low < high (and a finite width), got {low}, {high}"
            )
        if not 2 <= levels <= dim // 2 + 1:
            raise ValueError(f"levels must be in [2, {dim // 2 + 1}], got {levels}")
        self.dim, self.low, self.high, self.levels = dim, low, high, levels
        rng = seeded_rng(seed, f"level/{label}")
        base = np.unpackbits(random_hv(dim, rng))
        order = rng.permutation(dim)
        # flips[i] = bits flipped between level 0 and level i (evenly spread, D/2 at the end):
        # the bits order[:flips[i]], i.e. those whose rank in the order is below flips[i]
        flips = np.rint(np.arange(levels) * (dim / 2) / (levels - 1)).astype(np.int64)
        rank = np.empty(dim, dtype=np.int64)
        rank[order] = np.arange(dim)
        table = np.empty((levels, width), dtype=np.uint8)
        for start in range(0, levels, LEVEL_BLOCK):
            block = flips[start : start + LEVEL_BLOCK, None]
            table[start : start + LEVEL_BLOCK] = np.packbits(base ^ (rank < block), axis=1)
        table.flags.writeable = False
        self.table = table

    @property
    def resolution(self) -> float:
        """Width of one level in value units."""
        return (self.high - self.low) / (self.levels - 1)

    def level(self, value: float) -> int:
        """Index of the level nearest ``value`` (clipped to the range)."""
        if not math.isfinite(value):
            raise NonFiniteValueError(f"cannot encode a non-finite value {value!r}")
        return int(level_index(value, self.low, self.high, self.levels))

    def __call__(self, value: float) -> Packed:
        row: Packed = self.table[self.level(value)]
        return row


def level_index(
    value: npt.ArrayLike,
    low: float | npt.NDArray[np.float64],
    high: float | npt.NDArray[np.float64],
    levels: int | npt.NDArray[np.int64],
) -> npt.NDArray[np.intp]:
    """Index of the level nearest each value, clipped to the range: elementwise, with ``low``,
    ``high`` and ``levels`` broadcast against ``value`` (one of each per feature, say).

    ``round((clip(value, low, high) - low) / (high - low) * (levels - 1))``, half to even as
    Python's ``round``: the same number as clipping ``(value - low) / (high - low)`` to
    ``[0, 1]``, with no overflow for a value far out of range. The one formula behind
    :meth:`LevelCodebook.level` and :class:`BoundLevels`.
    """
    x = (np.minimum(np.maximum(value, low), high) - low) / np.subtract(high, low)
    index: npt.NDArray[np.intp] = np.rint(x * np.subtract(levels, 1)).astype(np.intp)
    return index


class BoundLevels:
    """Every ``key_f XOR level_f(i)`` of a record's numeric features, stacked ``(rows, D / 8)``
    (``rows = sum_f levels_f``): a record's numeric parts are one gather, with no lookup and no
    XOR per feature.

    It holds as many bytes as the level codebooks it is built from (``D / 8`` a level), which
    the caller may then drop. Rows stay packed: rows kept one byte per bit (8x the memory, 41 MB
    for 64 features of 64 levels at ``D = 10,000``) spare the unpacking but gather 8x the bytes,
    and measured no faster per record (issue 14: digits' 64 features, ~120 us either way).

    Args:
        dim: Dimension in bits.
        codebooks: One level codebook per numeric feature (may be empty).
        keys: The features' key vectors, in the same order.
    """

    def __init__(
        self, dim: int, codebooks: Sequence[LevelCodebook], keys: Sequence[Packed]
    ) -> None:
        self.dim = dim
        self.low = np.array([c.low for c in codebooks], dtype=np.float64)
        self.high = np.array([c.high for c in codebooks], dtype=np.float64)
        self.levels = np.array([c.levels for c in codebooks], dtype=np.int64)
        self.offsets = np.cumsum(self.levels) - self.levels  # each feature's first row
        table = np.empty((int(self.levels.sum()), n_bytes(dim)), dtype=np.uint8)
        for codebook, key, first in zip(codebooks, keys, self.offsets, strict=True):
            table[first : first + codebook.levels] = codebook.table ^ key
        table.flags.writeable = False
        self.table = table

    def count(self, values: npt.NDArray[np.float64], dtype: type[np.unsignedinteger]) -> np.ndarray:
        """Per-bit counts of ones ``(n, D)`` over each record's numeric parts.

        Args:
            values: ``(n, f)`` finite values, one column per codebook.
            dtype: Counts' dtype, wide enough for ``f`` (and whatever the caller adds).
        """
        rows = level_index(values, self.low, self.high, self.levels) + self.offsets  # (n, f)
        parts = np.unpackbits(self.table[rows], axis=-1)  # (n, f, D)
        counts: np.ndarray = parts.sum(axis=1, dtype=dtype)
        return counts
