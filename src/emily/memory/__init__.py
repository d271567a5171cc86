"""Memory tier: episodic (FalkorDB graph), semantic (LanceDB vectors), reflexive (hypervectors),
versioned store migrations and durable sleep consolidation."""

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

__all__ = [
    "ConsolidationReport",
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
    "text_key",
]
