"""Hypervector and stand-in text encoders: shapes, determinism, similarity ordering."""

from __future__ import annotations

import numpy as np
import pytest

from emily.memory import HashTextEmbedder, LevelHypervectorEncoder


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(a ^ b).sum())


def test_level_encoder_keeps_nearby_values_near() -> None:
    enc = LevelHypervectorEncoder(2048, levels=16)
    hv = enc.encode([[0.1, 0.5, -0.3], [0.12, 0.5, -0.3], [-0.9, -0.5, 0.9]])
    assert hv.shape == (3, 256)
    assert hv.dtype == np.uint8
    assert hamming(hv[0], hv[1]) < hamming(hv[0], hv[2])
    assert np.array_equal(enc.encode([[0.1, 0.5, -0.3]])[0], hv[0])
    with pytest.raises(ValueError, match="empty"):
        enc.encode([[]])
    with pytest.raises(ValueError, match="multiple of 8"):
        LevelHypervectorEncoder(100)


def test_symbols_are_stable_and_quasi_orthogonal() -> None:
    enc = LevelHypervectorEncoder(4096)
    a, b = enc.encode_text("stove")[0], enc.encode_text("water")[0]
    assert np.array_equal(a, enc.encode_text("stove")[0])
    assert 1700 < hamming(a, b) < 2400


def test_hash_embedder_is_deterministic_unit_norm() -> None:
    emb = HashTextEmbedder(dim=16)
    v = emb.embed(["a", "b", "a\udcff"])
    assert v.shape == (3, 16)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.array_equal(v[0], emb.embed(["a"])[0])
