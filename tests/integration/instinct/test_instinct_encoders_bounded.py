"""Encoders under large inputs: the bounded caches and chunked counting hold at 10^4-10^5 symbols.

Split from ``tests/unit/instinct/test_instinct_encoders.py``: each test encodes tens of thousands
of distinct symbols against an uncached reference (seconds to a minute), too slow for ``unit``.
"""

from __future__ import annotations

import numpy as np
import pytest

from emily.instinct import CategoricalFeature, StimulusEncoder, StimulusSchema
from emily.instinct._codebook import ItemMemory
from emily.instinct._hdc import bundle, permute

# Tens of thousands of symbols against an uncached reference, traced line by line under coverage
# at several times the cost, adding no line the unit tests do not cover.
pytestmark = pytest.mark.no_cover


def _uncached_text(text: str, dim: int, seed: int, n: int = 3) -> np.ndarray:
    """The text encoding straight from the definition: every item derived afresh, no cache."""
    chars = ItemMemory(dim, seed, "char")
    n = min(n, len(text))
    grams = []
    for start in range(len(text) - n + 1):
        gram = chars.derive(text[start + n - 1])
        for offset in range(1, n):
            gram = gram ^ permute(chars.derive(text[start + n - 1 - offset]), dim, offset)
        grams.append(gram)
    return bundle(np.stack(grams), dim)


def _distinct_code_points(count: int) -> str:
    """``count`` distinct code points from U+0100 on, surrogates skipped (they are not text)."""
    points = (c for c in range(0x100, 0x110000) if not 0xD800 <= c <= 0xDFFF)
    return "".join(chr(c) for _, c in zip(range(count), points, strict=False))


def test_text_with_50k_distinct_code_points_keeps_a_bounded_cache() -> None:
    """Issue 16 item 7: an open alphabet must not grow the codebook cache without bound; items
    are deterministic from the seed, so evicting them changes no bit."""
    dim, cap = 256, 512
    enc = StimulusEncoder(dim=dim, seed=5, cache_size=cap)
    text = _distinct_code_points(50_000)  # 100 times the cap
    texts = [text[i : i + 1000] for i in range(0, len(text), 1000)]
    got = [enc.encode_text(t) for t in texts]
    assert len(enc._chars) <= cap
    assert enc._rotated.cache_info().currsize <= cap  # type: ignore[attr-defined]
    for i in range(0, len(texts), 9):  # a sample: the uncached reference is slow
        assert np.array_equal(got[i], _uncached_text(texts[i], dim, 5)), i
    assert np.array_equal(enc.encode_text(texts[0]), got[0])  # again, after eviction


def test_long_texts_encode_as_the_definition_says() -> None:
    """Chunked counting (bounded transient memory) gives the bundle's bits, ties included."""
    enc = StimulusEncoder(dim=64, seed=2, cache_size=16)
    for text in ("ab", "abcd", "abcde" * 3, _distinct_code_points(5000), "xy" * 4001):
        assert np.array_equal(enc.encode_text(text), _uncached_text(text, 64, 2)), len(text)


def test_encoding_many_distinct_symbols_allocates_bounded_memory() -> None:
    """tracemalloc growth stays near the cap's bytes, not the vocabulary's (no timing)."""
    import tracemalloc

    dim, cap = 1024, 256
    schema = StimulusSchema(features={"word": CategoricalFeature()})
    enc = StimulusEncoder(schema, dim=dim, seed=1, cache_size=cap)
    text = _distinct_code_points(10_000)  # 40 times the cap, as are the 12,000 words
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(0, len(text), 500):
            enc.encode_text(text[i : i + 500])
        enc.encode_many([{"word": f"w{i}"} for i in range(20_000)][:100])
        for i in range(0, 12_000, 1000):
            enc.encode_many([{"word": f"w{j}"} for j in range(i, i + 1000)])
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    unbounded = (10_000 * 3 + 12_000) * dim // 8  # every item and rotation kept: ~5.4 MB
    assert grown < 4 * cap * dim // 8 + 2_000_000, grown
    assert grown < unbounded / 5
