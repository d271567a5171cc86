"""Fixtures for the memory tier's integration tests: real engines, embedded, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emily.core.settings import EmilySettings, load_settings
from emily.memory import EpisodicMemory, open_episodic
from emily.memory.embedding import HashTextEmbedder, SentenceEmbedder
from emily.memory.semantic import V1, V2


@pytest.fixture(scope="session")
def sentence_embedder() -> SentenceEmbedder:
    """The real sentence model, loaded once for the whole session (~4 s)."""
    embedder = SentenceEmbedder()
    embedder.embed(["warm-up"])
    return embedder


@pytest.fixture
def hash_embedders() -> dict[str, HashTextEmbedder]:
    """Fast stand-ins for the two embedding schemes (tests of storage, not of meaning)."""
    return {V1: HashTextEmbedder(name=V1), V2: HashTextEmbedder(name=V2)}


@pytest.fixture
def settings() -> EmilySettings:
    return load_settings()


@pytest.fixture
def episodic(settings: EmilySettings) -> Iterator[EpisodicMemory]:
    memory = open_episodic(settings)
    yield memory
    memory.close()
