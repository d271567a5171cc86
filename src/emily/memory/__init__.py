"""Memory tier: episodic (FalkorDB graph), semantic (LanceDB vectors), reflexive (hypervectors),
versioned store migrations and durable sleep consolidation.

Three memories, each in the engine that suits it, all embedded under ``EMILY_HOME`` by default
(a URL in the settings turns an engine into a server):

* ``EpisodicMemory`` is what happened: every answered stimulus becomes an episode in a FalkorDB
  property graph, ``(:Stimulus)-[:TRIGGERED]->(:Episode)-[:RESPONDED]->(:Response)``, with the
  hypotheses that explain it and ``NEXT`` edges in time order. The runtime's journal writes it in
  batches, off the reflex path.
* ``SemanticMemory`` is what Emily knows: text embedded by an offline sentence model and numeric
  stimuli as packed hypervectors, in LanceDB, searched by nearest neighbour. The ``etl`` flow
  (Prefect) loads files into it; ``reembed`` moves it to a new embedding with no downtime.
* The reflexive store belongs to the instinct tier; ``InstinctReflexSink`` is how this tier
  writes the reflexes that consolidation promotes.

``SleepConsolidation`` (``emily sleep``) is the bridge between them: a durable DBOS workflow
that groups new episodes by stimulus, promotes pairs confirmed often enough into reflexes and
semantic records, and finishes exactly once even if it is killed midway (ADR 0008).
``Migrator`` applies the versioned store migrations shipped in the package (``emily migrate``),
and ``open_memory`` opens all three stores together for the runtime and the CLI.

Public names are imported on first use (PEP 562): the runtime's journal imports
``emily.memory.episodic``, and an eager package would load consolidation's DBOS and SQLAlchemy
and semantic memory's LanceDB with it, seconds before ``emily run`` streams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.memory._falkor_server import EmbeddedFalkorDB, stop_server
    from emily.memory.consolidation import ConsolidationReport, SleepConsolidation
    from emily.memory.embedding import (
        HashTextEmbedder,
        HypervectorEncoder,
        LevelHypervectorEncoder,
        SentenceEmbedder,
        TextEmbedder,
    )
    from emily.memory.episodic import EpisodicMemory, StimulusIndex, open_episodic, text_key
    from emily.memory.errors import MigrationError, StorageFullError, StoreUnavailableError
    from emily.memory.etl import run_ingest
    from emily.memory.migrations import MigrationContext, MigrationStatus, Migrator, open_migrator
    from emily.memory.models import (
        Episode,
        Neighbour,
        Reflex,
        SemanticHit,
        SemanticRecord,
        StoredEpisode,
    )
    from emily.memory.reflexive import InstinctReflexSink, ReflexIndexOps, ReflexSink
    from emily.memory.semantic import EmbeddingState, SemanticMemory
    from emily.memory.stores import Memory, open_memory

_HOMES = {
    "emily.memory._falkor_server": ("EmbeddedFalkorDB", "stop_server"),
    "emily.memory.consolidation": ("ConsolidationReport", "SleepConsolidation"),
    "emily.memory.embedding": (
        "HashTextEmbedder", "HypervectorEncoder", "LevelHypervectorEncoder", "SentenceEmbedder",
        "TextEmbedder",
    ),
    "emily.memory.episodic": ("EpisodicMemory", "StimulusIndex", "open_episodic", "text_key"),
    "emily.memory.errors": ("MigrationError", "StorageFullError", "StoreUnavailableError"),
    "emily.memory.etl": ("run_ingest",),
    "emily.memory.migrations": ("MigrationContext", "MigrationStatus", "Migrator", "open_migrator"),
    "emily.memory.models": (
        "Episode", "Neighbour", "Reflex", "SemanticHit", "SemanticRecord", "StoredEpisode",
    ),
    "emily.memory.reflexive": ("InstinctReflexSink", "ReflexIndexOps", "ReflexSink"),
    "emily.memory.semantic": ("EmbeddingState", "SemanticMemory"),
    "emily.memory.stores": ("Memory", "open_memory"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "ConsolidationReport",
    "EmbeddedFalkorDB",
    "EmbeddingState",
    "Episode",
    "EpisodicMemory",
    "HashTextEmbedder",
    "HypervectorEncoder",
    "InstinctReflexSink",
    "LevelHypervectorEncoder",
    "Memory",
    "MigrationContext",
    "MigrationError",
    "MigrationStatus",
    "Migrator",
    "Neighbour",
    "Reflex",
    "ReflexIndexOps",
    "ReflexSink",
    "SemanticHit",
    "SemanticMemory",
    "SemanticRecord",
    "SentenceEmbedder",
    "SleepConsolidation",
    "StimulusIndex",
    "StorageFullError",
    "StoreUnavailableError",
    "StoredEpisode",
    "TextEmbedder",
    "open_episodic",
    "open_memory",
    "open_migrator",
    "run_ingest",
    "stop_server",
    "text_key",
]
