"""Sleep consolidation in-process on DBOS (SQLite): promotion, summaries, exactly-once re-runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from emily.core import ManualClock
from emily.core.settings import EmilySettings
from emily.memory import Episode, Memory, open_memory, text_key
from emily.memory._summaries import promote
from emily.memory.consolidation import shutdown_dbos
from emily.memory.embedding import HashTextEmbedder

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def memory(
    settings: EmilySettings, hash_embedders: dict[str, HashTextEmbedder]
) -> Iterator[Memory]:
    clock = ManualClock(T0 + timedelta(days=1))
    small = settings.model_copy(update={"hdc_dim": 512})
    opened = open_memory(small, embedders=hash_embedders, clock=clock)
    yield opened
    opened.close()


def episodes(n: int, start: int = 0) -> list[Episode]:
    return [
        Episode(
            id=f"e{i}",
            timestamp=T0 + timedelta(seconds=i),
            stimulus=f"stimulus {i % 4}",
            response="flinch" if i % 4 else "wave",
            confirmed=i % 4 != 3,  # stimulus 3 is never confirmed
            hypotheses=(f"because {i % 2}",),
        )
        for i in range(start, start + n)
    ]


def test_consolidates_once_and_promotes_confirmed_pairs(memory: Memory) -> None:
    memory.episodic.record_episodes(episodes(40))
    seen: list[tuple[int, int]] = []
    report = memory.consolidation(chunk_episodes=7).run(lambda d, t: seen.append((d, t)))
    assert report.episodes == 40
    assert report.groups == 4
    assert seen[-1] == (40, 40)
    assert memory.episodic.count(consolidated=True) == 40
    assert sorted(memory.reflexes.reflex_ids()) == sorted(
        f"reflex:{text_key(f'stimulus {k}')}" for k in range(3)
    )
    reflex = memory.reflexes.lookup("stimulus 0")
    assert reflex is not None
    assert (reflex.response, reflex.confirmations) == ("wave", 10)
    assert memory.semantic.count(kind="summary") == 4
    assert memory.semantic.count(kind="hypothesis") == 2
    assert memory.semantic.count(kind="stimulus") == 4
    summary = memory.semantic.search("stimulus 1 -> flinch x10 (10 confirmed)", 1, kind="summary")
    assert summary[0].record.text == "stimulus 1 -> flinch x10 (10 confirmed)"
    assert json.loads(summary[0].record.metadata)["episodes"] == 10
    again = memory.consolidation().run()
    assert (again.episodes, again.runs) == (0, 1)
    assert memory.semantic.count(kind="summary") == 4


def test_new_episodes_are_consolidated_by_the_next_sleep(memory: Memory) -> None:
    memory.episodic.record_episodes(episodes(8))
    memory.consolidation(min_confirmations=5).run()
    assert memory.reflexes.reflex_ids() == []
    memory.episodic.record_episodes(episodes(16, start=8))  # confirmations accumulate
    report = memory.consolidation(min_confirmations=5).run()
    assert report.episodes == 16
    assert len(memory.reflexes.reflex_ids()) == 3
    assert memory.episodic.similar("stimulus 2", k=1)[0].stimulus == "stimulus 2"


def test_dbos_relaunches_for_another_home(
    memory: Memory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    memory.consolidation().run()
    shutdown_dbos()
    shutdown_dbos()
    assert memory.consolidation().run().runs == 1


def test_promote_breaks_ties_deterministically() -> None:
    rows = [("s", "b", "S", "B", 3), ("s", "a", "S", "A", 3), ("t", "x", "T", "X", 1)]
    assert [(r.stimulus, r.response) for r in promote(rows, 3)] == [("S", "A")]
    assert [(r.stimulus, r.response) for r in promote(list(reversed(rows)), 3)] == [("S", "A")]
