"""The runtime's one call to get Tier 0: a reflex memory on the configured LanceDB store."""

from __future__ import annotations

from typing import Any

from emily.core import Clock
from emily.core.settings import EmilySettings
from emily.instinct._encoders import StimulusEncoder, StimulusSchema
from emily.instinct._reflex import ReflexMemory
from emily.instinct.reflex_store import LanceDBReflexStore


def open_reflex_memory(
    settings: EmilySettings,
    schema: StimulusSchema | None = None,
    *,
    clock: Clock | None = None,
    **options: Any,
) -> ReflexMemory:
    """A :class:`ReflexMemory` reloaded from ``EMILY_LANCEDB_URI`` (default ``HOME/lancedb``).

    The encoder takes ``EMILY_HDC_DIM`` and ``EMILY_SEED``, so a restart re-derives the same
    codebooks; ``options`` go to :class:`ReflexMemory` (threshold, half-life, ...).
    """
    dim = settings.hdc_dim
    uri = settings.lancedb_uri or settings.path("lancedb")
    encoder = StimulusEncoder(schema, dim=dim, seed=settings.seed)
    store = LanceDBReflexStore(uri, dim)
    return ReflexMemory(dim, store=store, encoder=encoder, clock=clock, **options)
