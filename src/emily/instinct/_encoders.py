"""Encoders: a stimulus (named features, or a short text) becomes one packed hypervector.

* Record (Plate 1995 / Kanerva 2009 "holographic record"): ``bundle_k(key_k XOR value_k)``;
  ``value_k`` is a level vector for a numeric feature, an item vector for a categorical one.
  Unbinding a key from the record gives a noisy copy of its value.
* Level: see :class:`~emily.instinct._codebook.LevelCodebook` (resolution per feature).
* Sequence (Joshi et al. 2016, "Language geometry using random indexing"; Rahimi et al. 2016):
  character n-grams ``rho^(n-1)(c_1) XOR ... XOR rho^0(c_n)`` bundled over the text, so texts
  that share n-grams are similar and order within an n-gram matters.

Everything derives from ``(dim, seed, schema)``; :attr:`StimulusEncoder.fingerprint` names that
triple so a reflex table written with one encoder is never read with another.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from emily.core import SovereignModel
from emily.instinct._codebook import ItemMemory, LevelCodebook
from emily.instinct._errors import (
    EmptyStimulusError,
    NonFiniteValueError,
    SchemaDriftError,
    UnknownFeatureError,
)
from emily.instinct._hdc import DEFAULT_DIM, Packed, bundle, bundle_many, n_bytes, permute


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
    ) -> None:
        n_bytes(dim)
        if ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        self.schema, self.dim, self.seed, self.ngram = schema, dim, seed, ngram
        self._keys = ItemMemory(dim, seed, "feature")
        self._values = ItemMemory(dim, seed, "category")
        self._chars = ItemMemory(dim, seed, "char")
        self._rotated: dict[tuple[str, int], Packed] = {}
        self._levels: dict[str, LevelCodebook] = {}
        for name, spec in (schema.features if schema else {}).items():
            if isinstance(spec, NumericFeature):
                self._levels[name] = LevelCodebook(
                    dim, spec.low, spec.high, spec.levels, seed=seed, label=name
                )
        described = schema.model_dump_json() if schema else "null"
        digest = hashlib.sha256(f"{dim}|{seed}|{ngram}|{described}".encode()).hexdigest()
        self.fingerprint = f"bsc-v1-{dim}-{digest[:16]}"

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
        return bundle(self._bound_parts(record), self.dim)

    def encode_many(self, records: Sequence[Mapping[str, object]]) -> np.ndarray:
        """:meth:`encode_record` of each record, as rows of one array (same bits, batched).

        Every record is validated as ``encode_record`` validates it; the bundling of the whole
        batch is one bit-sliced majority (:func:`bundle_many`), several times cheaper per record.
        """
        if not records:
            return np.zeros((0, self.dim // 8), dtype=np.uint8)
        return bundle_many(np.stack([self._bound_parts(r) for r in records]), self.dim)

    def _bound_parts(self, record: Mapping[str, object]) -> np.ndarray:
        """``key XOR value`` for each schema feature of ``record`` (sorted by name)."""
        if not record:
            raise EmptyStimulusError("empty stimulus: expected at least one feature")
        if self.schema is None:
            raise SchemaDriftError("this encoder has no record schema; it encodes texts only")
        expected = self.schema.features
        missing = sorted(set(expected) - set(record))
        extra = sorted(str(k) for k in set(record) - set(expected))
        if missing or extra:
            raise SchemaDriftError(
                f"stimulus does not match the schema: missing {missing}, unexpected {extra}"
            )
        parts = [self._keys[name] ^ self._value(name, spec, record[name]) for name, spec in
                 sorted(expected.items())]  # fmt: skip
        return np.stack(parts)

    def _value(self, name: str, spec: NumericFeature | CategoricalFeature, value: object) -> Packed:
        if isinstance(spec, NumericFeature):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise UnknownFeatureError(
                    f"feature {name!r} is numeric; got {type(value).__name__} {value!r}"
                )
            number = float(value)
            if not math.isfinite(number):
                raise NonFiniteValueError(f"feature {name!r} is {number}; expected a finite number")
            return self._levels[name](number)
        if not isinstance(value, str):
            raise UnknownFeatureError(
                f"feature {name!r} is categorical; got {type(value).__name__} {value!r}"
            )
        if spec.categories and value not in spec.categories:
            raise UnknownFeatureError(
                f"feature {name!r} has no category {value!r}; expected one of {spec.categories}"
            )
        return self._values[f"{name}={value}"]

    def encode_text(self, text: str) -> Packed:
        """Bundle of the text's character n-grams (texts shorter than n: one short gram)."""
        if not text:
            raise EmptyStimulusError("empty text: expected at least one character")
        n = min(self.ngram, len(text))
        grams = []
        for start in range(len(text) - n + 1):
            gram = self._chars[text[start + n - 1]]
            for offset in range(1, n):
                gram = gram ^ self._rotated_char(text[start + n - 1 - offset], offset)
            grams.append(gram)
        return bundle(np.stack(grams), self.dim)

    def _rotated_char(self, char: str, offset: int) -> Packed:
        hv = self._rotated.get((char, offset))
        if hv is None:
            hv = self._rotated[(char, offset)] = permute(self._chars[char], self.dim, offset)
        return hv

    def level_resolution(self, feature: str) -> float:
        """Value width of one level of a numeric feature."""
        return self._levels[feature].resolution
