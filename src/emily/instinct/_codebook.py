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
"""

from __future__ import annotations

import math

import numpy as np

from emily.instinct._errors import NonFiniteValueError
from emily.instinct._hdc import Packed, n_bytes, random_hv, seeded_rng


class ItemMemory:
    """Symbol -> random hypervector, derived on demand and cached.

    Args:
        dim: Dimension in bits (multiple of 8).
        seed: Codebook seed (``EMILY_SEED``).
        namespace: Separates codebooks that share symbols (feature names vs. categories).
    """

    def __init__(self, dim: int, seed: int = 0, namespace: str = "item") -> None:
        n_bytes(dim)
        self.dim = dim
        self.seed = seed
        self.namespace = namespace
        self._cache: dict[str, Packed] = {}

    def __getitem__(self, symbol: str) -> Packed:
        hv = self._cache.get(symbol)
        if hv is None:
            hv = random_hv(self.dim, seeded_rng(self.seed, f"{self.namespace}/{symbol}"))
            hv.flags.writeable = False  # shared by every caller: nobody may edit it
            self._cache[symbol] = hv
        return hv

    def __len__(self) -> int:
        return len(self._cache)


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
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise NonFiniteValueError(f"level range needs finite low < high, got {low}, {high}")
        if not 2 <= levels <= dim // 2 + 1:
            raise ValueError(f"levels must be in [2, {dim // 2 + 1}], got {levels}")
        self.dim, self.low, self.high, self.levels = dim, low, high, levels
        rng = seeded_rng(seed, f"level/{label}")
        base = np.unpackbits(random_hv(dim, rng))
        order = rng.permutation(dim)
        # flips[i] = bits flipped between level 0 and level i (evenly spread, D/2 at the end)
        flips = np.rint(np.arange(levels) * (dim / 2) / (levels - 1)).astype(np.int64)
        table = np.empty((levels, width), dtype=np.uint8)
        for i, k in enumerate(flips):
            bits = base.copy()
            bits[order[:k]] ^= 1
            table[i] = np.packbits(bits)
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
        x = (value - self.low) / (self.high - self.low)
        return round(min(max(x, 0.0), 1.0) * (self.levels - 1))

    def __call__(self, value: float) -> Packed:
        row: Packed = self.table[self.level(value)]
        return row
