"""All three memories opened together, for the runtime and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emily.core import Clock, system_clock
from emily.core.closing import Closing
from emily.core.settings import EmilySettings
from emily.memory._lance import connect_lance, lance_uri
from emily.memory.consolidation import SleepConsolidation, shutdown_dbos
from emily.memory.embedding import LevelHypervectorEncoder, TextEmbedder
from emily.memory.episodic import EpisodicMemory, open_episodic
from emily.memory.reflexive import InstinctReflexSink
from emily.memory.semantic import SemanticMemory


@dataclass
class Memory(Closing):
    """Episodic, semantic and reflexive memory of one ``EMILY_HOME``; close it when done."""

    settings: EmilySettings
    episodic: EpisodicMemory
    semantic: SemanticMemory
    reflexes: InstinctReflexSink
    clock: Clock

    def consolidation(self, **options: Any) -> SleepConsolidation:
        """A sleep-consolidation run over these stores (options: see ``SleepConsolidation``)."""
        return SleepConsolidation(
            self.settings, self.episodic, self.semantic, self.reflexes, clock=self.clock, **options
        )

    def close(self) -> None:
        """Stop DBOS (runs in flight resume next time) and the embedded graph server."""
        shutdown_dbos()
        self.episodic.close()


def open_memory(
    settings: EmilySettings,
    *,
    embedders: Mapping[str, TextEmbedder] | None = None,
    clock: Clock | None = None,
) -> Memory:
    """Open every memory store the settings choose (the sentence model loads on first use)."""
    clock = clock or system_clock()
    db = connect_lance(settings)
    semantic = SemanticMemory(
        db,
        embedders=embedders,
        hypervectors=LevelHypervectorEncoder(settings.hdc_dim),
        clock=clock,
    )
    episodic = open_episodic(settings, stimulus_index=semantic, clock=clock)
    reflexes = InstinctReflexSink(lance_uri(settings), settings.hdc_dim, settings.seed, clock)
    return Memory(settings, episodic, semantic, reflexes, clock)
