"""Instinct tier (System 1, Tier 0): hyperdimensional computing and the reflex memory.

Binary spatter codes packed 8 bits per byte (``emily.instinct._hdc``), seeded codebooks,
record/level/sequence encoders, ``ReflexMemory``, which answers a known stimulus in
microseconds from an in-memory packed matrix and persists every reflex in the LanceDB table
``reflexive_memory`` (``emily.instinct.reflex_store``). ``calibrate_threshold`` sets its
hit threshold from the stimuli it learned (conformal, leave-one-out), and
``PrototypeTrainer`` trains a few reflexes per class (OnlineHD) to store instead of every
example.

How they fit: a ``StimulusEncoder`` built from a ``StimulusSchema`` (``NumericFeature`` and
``CategoricalFeature`` per field, or plain text) turns a stimulus into a packed hypervector,
deterministically from ``(dim, seed, schema)``; ``ReflexMemory.learn`` stores a stimulus with its
response, and ``lookup`` returns a ``ReflexHit`` (response, similarity) or a ``ReflexMiss`` below
the threshold. ``open_reflex_memory(settings)`` opens the durable memory of a home. Lookups scan
every reflex exactly with ``HammingScan`` (a popcount over a head of the bytes first, then only
the rows that can still win); ``MultiHashIndex`` is the approximate index for very large reflex
sets. ``write_bundle`` exports the reflexes for the browser (``emily.instinct.wasm``).

The public names below are what the other tiers, the CLI, the docs and the benchmarks use,
imported on first use (PEP 562: NumPy and PyArrow only when a name is read). The operations on
hypervectors (``bind``, ``bundle``, ``permute``, ``similarity``...) are kernel internals in
``emily.instinct._hdc``, which research code and tests import directly.

Example:
    >>> from emily.instinct import ReflexMemory, StimulusEncoder
    >>> encoder = StimulusEncoder()
    >>> memory = ReflexMemory(encoder=encoder)
    >>> rid = memory.learn("hot stove", "withdraw hand", 0.9)
    >>> memory.lookup(encoder.encode("hot stove")).response
    'withdraw hand'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.instinct._ann import MultiHashIndex
    from emily.instinct._calibration import (
        ThresholdCalibration,
        calibrate_prototype_threshold,
        calibrate_threshold,
    )
    from emily.instinct._encoders import (
        CategoricalFeature,
        NumericFeature,
        StimulusEncoder,
        StimulusSchema,
    )
    from emily.instinct._errors import SchemaDriftError
    from emily.instinct._hdc import DEFAULT_DIM
    from emily.instinct._kernel import HammingScan
    from emily.instinct._open import open_reflex_memory
    from emily.instinct._prototype import DEFAULT_PER_CLASS, PrototypeTrainer
    from emily.instinct._reflex import ReflexHit, ReflexMemory, ReflexMiss, default_reflex_id
    from emily.instinct.reflex_store import (
        REFLEX_TABLE,
        InMemoryReflexStore,
        LanceDBReflexStore,
        ReflexStore,
        StoredReflex,
        create_hdc_index,
        drop_hdc_index,
        has_hdc_index,
    )
    from emily.instinct.wasm import BundleReflexes, require_kernel, write_bundle

_HOMES = {
    "emily.instinct._ann": ("MultiHashIndex",),
    "emily.instinct._calibration": (
        "ThresholdCalibration", "calibrate_prototype_threshold", "calibrate_threshold",
    ),
    "emily.instinct._encoders": (
        "CategoricalFeature", "NumericFeature", "StimulusEncoder", "StimulusSchema",
    ),
    "emily.instinct._errors": ("SchemaDriftError",),
    "emily.instinct._hdc": ("DEFAULT_DIM",),
    "emily.instinct._kernel": ("HammingScan",),
    "emily.instinct._open": ("open_reflex_memory",),
    "emily.instinct._prototype": ("DEFAULT_PER_CLASS", "PrototypeTrainer"),
    "emily.instinct._reflex": ("ReflexHit", "ReflexMemory", "ReflexMiss", "default_reflex_id"),
    "emily.instinct.reflex_store": (
        "InMemoryReflexStore", "LanceDBReflexStore", "REFLEX_TABLE", "ReflexStore", "StoredReflex",
        "create_hdc_index", "drop_hdc_index", "has_hdc_index",
    ),
    "emily.instinct.wasm": ("BundleReflexes", "require_kernel", "write_bundle"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "DEFAULT_DIM",
    "DEFAULT_PER_CLASS",
    "REFLEX_TABLE",
    "BundleReflexes",
    "CategoricalFeature",
    "HammingScan",
    "InMemoryReflexStore",
    "LanceDBReflexStore",
    "MultiHashIndex",
    "NumericFeature",
    "PrototypeTrainer",
    "ReflexHit",
    "ReflexMemory",
    "ReflexMiss",
    "ReflexStore",
    "SchemaDriftError",
    "StimulusEncoder",
    "StimulusSchema",
    "StoredReflex",
    "ThresholdCalibration",
    "calibrate_prototype_threshold",
    "calibrate_threshold",
    "create_hdc_index",
    "default_reflex_id",
    "drop_hdc_index",
    "has_hdc_index",
    "open_reflex_memory",
    "require_kernel",
    "write_bundle",
]
