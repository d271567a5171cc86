"""Hostile text (quotes, Cypher/SQL fragments, NUL, huge, non-UTF-8) in every text field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emily.core.settings import EmilySettings
from emily.memory import EpisodicMemory, SemanticMemory, SemanticRecord
from emily.memory._lance import connect_lance, lance_uri
from emily.memory.embedding import HashTextEmbedder
from emily.memory.models import Episode, Reflex
from emily.memory.reflexive import InstinctReflexSink

HOSTILE = [
    'a"b',
    "a'b",
    "back\\slash \\' \\\"",
    "}) DETACH DELETE n //",
    "'; MATCH (n) DETACH DELETE n; //",
    "' OR 1=1 --",
    "x\ny\r\t",
    "\x00nul\x00",
    "\x01emily-b64:bm90IGJhc2U2NA==",  # looks like the codec's own marker
    "😀 漢字 \u202e",
    "\udcff\udcfe undecodable",  # bytes b"\xff\xfe" kept by surrogateescape
    "",
    "L" * 200_000,
]


def test_episodic_text_fields_round_trip(episodic: EpisodicMemory) -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    episodes = [
        Episode(
            id=f"{i}:{s[:50]}",
            timestamp=t.replace(second=i),
            stimulus=s,
            response=s + "!",
            hypotheses=(s, s + "?"),
        )
        for i, s in enumerate(HOSTILE)
    ]
    episodic.record_episodes(episodes)
    episodic.record_episodes(episodes)
    assert episodic.count() == len(HOSTILE)
    back = {e.id: e for e in episodic.get([e.id for e in episodes])}
    for e in episodes:
        got = back[e.id]
        assert got.stimulus == e.stimulus
        assert got.response == e.response
        assert set(got.hypotheses) == set(e.hypotheses)
    nb = episodic.neighbours("Episode", episodes[7].id)
    assert {n.text for n in nb if n.label == "Stimulus"} == {HOSTILE[7]}


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_semantic_and_reflex_fields_round_trip(
    settings: EmilySettings, hash_embedders: dict[str, HashTextEmbedder], text: str
) -> None:
    db = connect_lance(settings)
    sem = SemanticMemory(db, embedders=hash_embedders)
    record = SemanticRecord(
        id=text or "empty",
        kind=text or "k",
        text=text,
        source=text,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        metadata=text,
    )
    sem.add([record])
    assert sem.get([record.id]) == [record]
    hit = sem.search(text, 1, kind=record.kind, source=text)[0]
    assert hit.record == record
    reflexes = InstinctReflexSink(lance_uri(settings), 256)
    written = reflexes.add_reflexes(
        [Reflex(id=text or "empty", stimulus=text, response=text, confirmations=1)]
    )
    if not text:  # an empty stimulus cannot be recognised: not a reflex
        assert (written, reflexes.reflex_ids()) == (0, [])
        return
    assert reflexes.reflex_ids() == [text]
    found = reflexes.lookup(text)
    assert found is not None
    assert (found.stimulus, found.response) == (text, text)
