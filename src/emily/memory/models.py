"""Records that cross the memory tier's boundary: what callers store and what they read back."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from emily.core import SovereignModel


def _non_empty(value: str) -> str:
    # Checked here, not with Field(min_length=...): pydantic-core's length constraints cannot
    # read strings holding lone surrogates (undecodable input bytes), which Emily must accept.
    if not value:
        raise ValueError("must be a non-empty string")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (e.g. tzinfo=UTC)")
    return value


class Episode(SovereignModel):
    """One step of experience: a stimulus, Emily's response, and whether it was confirmed.

    ``id`` is chosen by the caller so that recording is idempotent: the runtime buffers episodes
    while the graph store is down and replays them later without creating duplicates.
    """

    id: str
    timestamp: datetime
    stimulus: str
    response: str
    confirmed: bool = False
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    hypotheses: tuple[str, ...] = ()

    _check_ts = field_validator("timestamp")(_aware)
    _check_id = field_validator("id")(_non_empty)


class StoredEpisode(SovereignModel):
    """An episode as read back from the graph, with its consolidation state."""

    id: str
    timestamp: datetime
    stimulus: str
    stimulus_key: str
    response: str
    response_key: str
    confirmed: bool
    confidence: float
    hypotheses: tuple[str, ...]
    consolidated: bool


class Neighbour(SovereignModel):
    """A node adjacent to another in the episodic graph, with the edge that joins them."""

    label: str
    key: str
    relation: str
    outgoing: bool
    text: str | None = None


class SemanticRecord(SovereignModel):
    """A piece of knowledge in semantic memory (a summary, hypothesis, stimulus or record)."""

    id: str
    kind: str
    text: str
    source: str = ""
    created_at: datetime
    metadata: str = "{}"

    _check_ts = field_validator("created_at")(_aware)
    _check_id = field_validator("id", "kind")(_non_empty)


class SemanticHit(SovereignModel):
    """One search result: the record and its distance to the query (smaller is nearer)."""

    record: SemanticRecord
    distance: float


class Reflex(SovereignModel):
    """A stimulus→response pair promoted by sleep consolidation into the reflexive store."""

    id: str
    stimulus: str
    response: str
    confirmations: int = Field(ge=1)
