"""Boundary records refuse malformed input with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from emily.memory import Episode, SemanticRecord


def test_episode_requires_aware_time_and_an_id() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Episode(id="a", timestamp=datetime(2026, 1, 1), stimulus="s", response="r")
    with pytest.raises(ValidationError, match="non-empty"):
        Episode(id="", timestamp=datetime(2026, 1, 1, tzinfo=UTC), stimulus="s", response="r")
    e = Episode(id="\udcff", timestamp=datetime(2026, 1, 1, tzinfo=UTC), stimulus="", response="")
    assert e.id == "\udcff"


def test_semantic_record_requires_kind() -> None:
    with pytest.raises(ValidationError, match="non-empty"):
        SemanticRecord(id="a", kind="", text="t", created_at=datetime(2026, 1, 1, tzinfo=UTC))
