"""Encoders: a stimulus (named features, or a short text) becomes one packed hypervector.

* Record (Plate 1995 / Kanerva 2009 "holographic record"): ``bundle_k(key_k XOR value_k)``;
  ``value_k`` is a level vector for a numeric feature, an item vector for a categorical one.
  Unbinding a key from the record gives a noisy copy of its value. Computed, bit for bit, as the
  majority of per-bit counts (:meth:`StimulusEncoder.encode_many`): 64 features at
  ``D = 10,000`` take ~120 us, where forming and bundling each part took ~870 us (issue 14).
* Level: see :class:`~emily.instinct._codebook.LevelCodebook` (resolution per feature).
* Sequence (Joshi et al. 2016, "Language geometry using random indexing"; Rahimi et al. 2016):
  character n-grams ``rho^(n-1)(c_1) XOR ... XOR rho^0(c_n)`` bundled over the text, so texts
  that share n-grams are similar and order within an n-gram matters.

Everything derives from ``(dim, seed, schema)``; :attr:`StimulusEncoder.fingerprint` names that
triple so a reflex table written with one encoder is never read with another.
"""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Literal, TypeGuard, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field

from emily.core import SovereignModel
from emily.instinct._codebook import BoundLevels, ItemMemory, LevelCodebook
from emily.instinct._errors import (
    EmptyStimulusError,
    NonFiniteValueError,
    SchemaDriftError,
    UnknownFeatureError,
)
from emily.instinct._hdc import (
    DEFAULT_DIM,
    Packed,
    bundle,
    derived_tie,
    n_bytes,
    permute,
    tie_vector,
)

CODEBOOK_CACHE = 4096  # derived vectors each of an encoder's caches keeps (LRU; issue 16)
TEXT_CHUNK = 1024  # n-grams of a text counted at once: bounded transient memory for long texts
GATHER_BYTES = 2 << 20  # unpacked parts of a batch gathered at once (about a core's L2 cache)
_PLAIN_NUMBERS = frozenset({float, int})


class NumericFeature(SovereignModel):
    """A continuous feature, level-encoded over ``[low, high]`` in ``levels`` steps."""

    kind: Literal["numeric"] = "numeric"
    low: float
    high: float
    levels: int = Field(default=64, ge=2)


class CategoricalFeature(SovereignModel):
    """A symbolic feature; ``categories`` closes the vocabulary (empty: any string is allowed)."""

    kind: Literal["categorical"] = "categorical"
    categories: tuple[str, ...] = ()


Feature = Annotated[NumericFeature | CategoricalFeature, Field(discriminator="kind")]


class StimulusSchema(SovereignModel):
    """The features a record stimulus must carry: every one, and nothing else."""

    features: dict[str, Feature] = Field(min_length=1)


Stimulus = Mapping[str, object] | str


class StimulusEncoder:
    """Turns a stimulus into one packed hypervector (``dim / 8`` bytes), deterministically.

    Args:
        schema: Features of record stimuli; ``None`` accepts only texts.
        dim: Dimension in bits (``EMILY_HDC_DIM``).
        seed: Codebook seed (``EMILY_SEED``).
        ngram: n of the text encoder's character n-grams.
        cache_size: Derived vectors each cache keeps (characters, their rotations, categorical
            parts), least recently used dropped; ``D / 8`` bytes each. Memory stays bounded
            over open vocabularies, and the bits do not depend on it (everything re-derives).

    Example:
        >>> enc = StimulusEncoder(StimulusSchema(features={"light": NumericFeature(low=0, high=1)}))
        >>> enc.encode({"light": 0.5}).shape
        (1250,)
    """

    def __init__(
        self,
        schema: StimulusSchema | None = None,
        *,
        dim: int = DEFAULT_DIM,
        seed: int = 0,
        ngram: int = 3,
        cache_size: int = CODEBOOK_CACHE,
    ) -> None:
        n_bytes(dim)
        if ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        if cache_size < 1:
            raise ValueError(f"cache_size must be >= 1, got {cache_size}")
        self.schema, self.dim, self.seed, self.ngram = schema, dim, seed, ngram
        self._keys = ItemMemory(dim, seed, "feature", cache_size=None)  # the schema's names
        self._values = ItemMemory(dim, seed, "category", cache_size=0)  # see _category_parts
        self._chars = ItemMemory(dim, seed, "char", cache_size=cache_size)
        self._rotated = functools.lru_cache(maxsize=cache_size)(self._rotate)
        features = sorted(schema.features.items()) if schema else []
        self._names = frozenset(name for name, _ in features)
        codebooks = {
            name: LevelCodebook(dim, spec.low, spec.high, spec.levels, seed=seed, label=name)
            for name, spec in features
            if isinstance(spec, NumericFeature)
        }
        self._resolution = {name: codebook.resolution for name, codebook in codebooks.items()}
        self._numeric = list(codebooks)  # sorted by name
        self._categorical = [(name, frozenset(spec.categories)) for name, spec in features
                             if isinstance(spec, CategoricalFeature)]  # fmt: skip
        keys = [self._keys[name] for name in self._numeric]
        self._bound = BoundLevels(dim, list(codebooks.values()), keys)  # the codebooks' bytes
        self._category_part = _category_parts(self._keys, self._values, cache_size)
        self._tie_bits = np.unpackbits(tie_vector(dim))
        described = schema.model_dump_json() if schema else "null"
        digest = hashlib.sha256(f"{dim}|{seed}|{ngram}|{described}".encode()).hexdigest()
        # v2: even bundles break ties by their members' rotated parity (v1: one shared vector),
        # so a v1 table's bits differ for even feature counts: refuse it rather than misread it.
        self.fingerprint = f"bsc-v2-{dim}-{digest[:16]}"

    def encode(self, stimulus: Stimulus) -> Packed:
        """One packed vector for a feature mapping or a text (see the module docstring)."""
        if isinstance(stimulus, str):
            return self.encode_text(stimulus)
        if isinstance(stimulus, Mapping):
            return self.encode_record(stimulus)
        raise UnknownFeatureError(
            f"a stimulus is a mapping of features or a text, got {type(stimulus).__name__}"
        )

    def encode_record(self, record: Mapping[str, object]) -> Packed:
        """``bundle(key XOR value)`` over the schema's features (all required, none extra)."""
        row: Packed = self.encode_many([record])[0]
        return row

    def encode_many(self, records: Sequence[Mapping[str, object]]) -> np.ndarray:
        """:meth:`encode_record` of each record, as rows of one array ``(n, D / 8)``.

        Same bits as :func:`bundle` of the parts ``key XOR value``, got without forming them: a
        record's numeric parts are one gather of :class:`BoundLevels` rows, summed into per-bit
        counts ``(n, D)``; categorical parts (an LRU, :func:`_category_parts`) add theirs; and
        :func:`_majority` turns the counts into bits. Every record is validated as before, and
        the first invalid one raises.
        """
        if not records:
            return np.zeros((0, self.dim // 8), dtype=np.uint8)
        parsed = [self._parse(record) for record in records]
        values = np.array([numeric for numeric, _ in parsed], dtype=np.float64)  # (n, numeric)
        k = len(self._numeric) + len(self._categorical)
        dtype = np.uint8 if k < 256 else np.uint16
        out = np.empty((len(records), self.dim // 8), dtype=np.uint8)
        step = max(1, GATHER_BYTES // (k * self.dim))
        for start in range(0, len(records), step):  # a chunk's parts stay in cache
            counts = self._bound.count(values[start : start + step], dtype)  # (c, D)
            if self._categorical:  # (c, categorical features, D / 8) packed parts
                parts = np.array([bound for _, bound in parsed[start : start + step]])
                counts += np.unpackbits(parts, axis=-1).sum(axis=1, dtype=dtype)
            out[start : start + step] = _majority(counts, k, self._tie_bits)
        return out

    def _parse(self, record: Mapping[str, object]) -> tuple[list[float], list[Packed]]:
        """A record's numeric values (``_numeric`` order) and bound categorical parts.

        Plain finite floats and ints and plain strings pass a few cheap checks at once; anything
        else (an error, a NumPy scalar) goes through :meth:`_parse_slowly`.
        """
        if not record:
            raise EmptyStimulusError("empty stimulus: expected at least one feature")
        if self.schema is None:
            raise SchemaDriftError("this encoder has no record schema; it encodes texts only")
        if record.keys() != self._names:
            missing = sorted(self._names - set(record))
            extra = sorted(str(k) for k in set(record) - self._names)
            raise SchemaDriftError(
                f"stimulus does not match the schema: missing {missing}, unexpected {extra}"
            )
        values = [record[name] for name in self._numeric]
        if not _plain_finite(values):
            return self._parse_slowly(record)
        parts = []
        for name, allowed in self._categorical:
            value = record[name]
            if type(value) is not str or (allowed and value not in allowed):
                return self._parse_slowly(record)
            parts.append(self._category_part(name, value))
        return values, parts

    def _parse_slowly(self, record: Mapping[str, object]) -> tuple[list[float], list[Packed]]:
        """:meth:`_parse` feature by feature in name order, raising the first feature's error."""
        assert self.schema is not None  # _parse checked
        values, parts = [], []
        for name, spec in sorted(self.schema.features.items()):
            value = record[name]
            if isinstance(spec, NumericFeature):
                values.append(_checked_number(name, value))
            else:
                parts.append(self._category_part(name, _checked_category(name, spec, value)))
        return values, parts

    def encode_text(self, text: str) -> Packed:
        """Bundle of the text's character n-grams (texts shorter than n: one short gram).

        The grams are counted :data:`TEXT_CHUNK` at a time (per-bit counts and their parity,
        which is all :func:`bundle` needs, ties included), so a long text costs a bounded
        ``TEXT_CHUNK x D`` bits in flight rather than ``D / 8`` bytes per character.
        """
        if not text:
            raise EmptyStimulusError("empty text: expected at least one character")
        n = min(self.ngram, len(text))
        total = len(text) - n + 1
        if total <= TEXT_CHUNK:
            return bundle(np.stack([self._gram(text, i, n) for i in range(total)]), self.dim)
        counts = np.zeros(self.dim, dtype=np.int64)
        parity = np.zeros(self.dim // 8, dtype=np.uint8)
        for first in range(0, total, TEXT_CHUNK):
            grams = np.stack(
                [self._gram(text, i, n) for i in range(first, min(first + TEXT_CHUNK, total))]
            )
            counts += np.unpackbits(grams, axis=1).sum(axis=0, dtype=np.int64)
            parity ^= np.bitwise_xor.reduce(grams, axis=0)
        twice = 2 * counts  # bundle's rule: over half, and a tie takes derived_tie's bit
        tie = np.unpackbits(derived_tie(parity[np.newaxis], self.dim)) == 1
        packed: Packed = np.packbits((twice > total) | ((twice == total) & tie))
        return packed

    def _gram(self, text: str, start: int, n: int) -> Packed:
        """``rho^(n-1)(c_1) XOR ... XOR rho^0(c_n)`` of the n-gram at ``start``."""
        gram = self._chars[text[start + n - 1]]
        for offset in range(1, n):
            gram = gram ^ self._rotated(text[start + n - 1 - offset], offset)
        return gram

    def _rotate(self, char: str, offset: int) -> Packed:
        hv = permute(self._chars[char], self.dim, offset)
        hv.flags.writeable = False  # cached: shared by every gram that holds it
        return hv

    def level_resolution(self, feature: str) -> float:
        """Value width of one level of a numeric feature."""
        return self._resolution[feature]


def _plain_finite(values: list[object]) -> TypeGuard[list[float]]:
    """Whether every value is a plain ``float`` or ``int`` and all are finite, by one sum (a NaN
    or an infinity propagates; a sum that merely overflows sends the record the careful way)."""
    if not set(map(type, values)) <= _PLAIN_NUMBERS:
        return False
    try:
        return math.isfinite(sum(cast("list[float]", values)))
    except OverflowError:  # an int too large for a float
        return False


def _checked_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UnknownFeatureError(
            f"feature {name!r} is numeric; got {type(value).__name__} {value!r}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise NonFiniteValueError(f"feature {name!r} is {number}; expected a finite number")
    return number


def _checked_category(name: str, spec: CategoricalFeature, value: object) -> str:
    if not isinstance(value, str):
        raise UnknownFeatureError(
            f"feature {name!r} is categorical; got {type(value).__name__} {value!r}"
        )
    if spec.categories and value not in spec.categories:
        raise UnknownFeatureError(
            f"feature {name!r} has no category {value!r}; expected one of {spec.categories}"
        )
    return value


def _category_parts(
    keys: ItemMemory, values: ItemMemory, cache_size: int
) -> Callable[[str, str], Packed]:
    """``key XOR item(name=value)`` of a categorical feature, behind an LRU of ``cache_size``
    vectors: an open vocabulary costs bounded memory (issue 16), as the items are derived
    afresh (:meth:`ItemMemory.derive`), not kept by the item memory."""

    @functools.lru_cache(maxsize=cache_size)
    def part(name: str, value: str) -> Packed:
        hv = keys[name] ^ values.derive(f"{name}={value}")
        hv.flags.writeable = False  # shared by every record that carries it
        return hv

    return part


def _majority(counts: npt.NDArray[np.unsignedinteger], k: int, tie_bits: Packed) -> np.ndarray:
    """:func:`bundle`'s bits from the per-bit counts ``(n, D)`` of ``k`` members, packed.

    A bit is 1 where more than half the members have it; a tie (even ``k``, a count of
    ``k / 2``) takes the bit of :func:`~emily.instinct._hdc.derived_tie`,
    ``rho(x_1 XOR ... XOR x_k) XOR t_D``, and the parity ``x_1 XOR ... XOR x_k`` is the count's
    low bit. With ``tie`` that bit (0 or 1), "over half, or a tie and ``tie`` = 1" is
    ``count + tie > k / 2``.
    """
    half = k // 2
    if k % 2:
        return np.packbits(counts > half, axis=-1)
    tie = np.empty_like(counts)  # rho^1 (permute by one): bit i takes the parity of bit i - 1
    tie[:, 1:] = counts[:, :-1]
    tie[:, 0] = counts[:, -1]
    tie &= 1
    tie ^= tie_bits
    tie += counts
    return np.packbits(tie > half, axis=-1)
