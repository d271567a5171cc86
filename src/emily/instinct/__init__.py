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
sets. The operations on hypervectors (``bind``, ``bundle``, ``permute``, ``similarity``,
``hamming``; ``to_torchhd``/``from_torchhd`` for torchhd) are exported for research code.

Example:
    >>> from emily.instinct import ReflexMemory, StimulusEncoder
    >>> encoder = StimulusEncoder()
    >>> memory = ReflexMemory(encoder=encoder)
    >>> rid = memory.learn("hot stove", "withdraw hand", 0.9)
    >>> memory.lookup(encoder.encode("hot stove")).response
    'withdraw hand'
"""

from emily.instinct._ann import MultiHashIndex
from emily.instinct._calibration import (
    ThresholdCalibration,
    calibrate_prototype_threshold,
    calibrate_threshold,
    conformal_threshold,
)
from emily.instinct._codebook import ItemMemory, LevelCodebook
from emily.instinct._encoders import (
    CategoricalFeature,
    NumericFeature,
    Stimulus,
    StimulusEncoder,
    StimulusSchema,
)
from emily.instinct._errors import (
    EmptyStimulusError,
    HypervectorError,
    NonFiniteValueError,
    SchemaDriftError,
    UnknownFeatureError,
)
from emily.instinct._hdc import (
    DEFAULT_DIM,
    Packed,
    bind,
    bundle,
    check_packed,
    cosine,
    from_bipolar,
    from_torchhd,
    hamming,
    pack,
    permute,
    random_hv,
    seeded_rng,
    similarity,
    to_bipolar,
    to_torchhd,
    unpack,
    weighted_bundle,
)
from emily.instinct._kernel import HammingScan
from emily.instinct._open import open_reflex_memory
from emily.instinct._prototype import DEFAULT_PER_CLASS, PrototypeTrainer
from emily.instinct._reflex import ReflexHit, ReflexMemory, ReflexMiss, default_reflex_id
from emily.instinct.reflex_store import (
    REFLEX_INDEX,
    REFLEX_TABLE,
    VECTOR_COLUMN,
    InMemoryReflexStore,
    LanceDBReflexStore,
    ReflexStore,
    StoredReflex,
    create_hdc_index,
    drop_hdc_index,
    has_hdc_index,
)

__all__ = [
    "DEFAULT_DIM",
    "DEFAULT_PER_CLASS",
    "REFLEX_INDEX",
    "REFLEX_TABLE",
    "VECTOR_COLUMN",
    "CategoricalFeature",
    "EmptyStimulusError",
    "HammingScan",
    "HypervectorError",
    "InMemoryReflexStore",
    "ItemMemory",
    "LanceDBReflexStore",
    "LevelCodebook",
    "MultiHashIndex",
    "NonFiniteValueError",
    "NumericFeature",
    "Packed",
    "PrototypeTrainer",
    "ReflexHit",
    "ReflexMemory",
    "ReflexMiss",
    "ReflexStore",
    "SchemaDriftError",
    "Stimulus",
    "StimulusEncoder",
    "StimulusSchema",
    "StoredReflex",
    "ThresholdCalibration",
    "UnknownFeatureError",
    "bind",
    "bundle",
    "calibrate_prototype_threshold",
    "calibrate_threshold",
    "check_packed",
    "conformal_threshold",
    "cosine",
    "create_hdc_index",
    "default_reflex_id",
    "drop_hdc_index",
    "from_bipolar",
    "from_torchhd",
    "hamming",
    "has_hdc_index",
    "open_reflex_memory",
    "pack",
    "permute",
    "random_hv",
    "seeded_rng",
    "similarity",
    "to_bipolar",
    "to_torchhd",
    "unpack",
    "weighted_bundle",
]
