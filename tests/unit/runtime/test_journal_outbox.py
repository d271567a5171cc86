"""The episodic journal against a store double that goes down and comes back."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from emily.memory.errors import StoreUnavailableError
from emily.memory.models import Episode
from emily.runtime.journal import EpisodeJournal, JournalEntry
from emily.runtime.stimuli import Stimulus


class FlakyStore:
    """Keeps episodes by id (like MERGE); refuses every write while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.episodes: dict[str, Episode] = {}
        self.writes = 0
        self.lock = threading.Lock()

    def record_episodes(self, batch: Iterable[Episode]) -> int:
        with self.lock:
            if self.down:
                raise StoreUnavailableError("episodic graph store unreachable: test")
            batch = list(batch)
            self.writes += 1
            for episode in batch:
                self.episodes[episode.id] = episode
            return len(batch)


class Reports:
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def report_dependency(self, name: str, up: bool) -> None:
        self.seen.append((name, up))


def _entry(i: int) -> JournalEntry:
    return JournalEntry(
        id=f"run-{i}",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        stimulus=Stimulus(id=f"s{i}", features={"x": float(i)}, label="a"),
        response="a" if i % 2 else "",
        confirmed=bool(i % 2),
        confidence=0.9,
        hypotheses=(),
        tier="instinct" if i % 2 else "none",
        gain=0.5,
        state="processing",
        latency_s=1e-5,
    )


def _journal(store: FlakyStore, path: Path, reports: Reports | None = None) -> EpisodeJournal:
    return EpisodeJournal(
        store, path, regulator=reports, registry=CollectorRegistry(), batch=16, retry_s=0.0
    )


def test_writes_in_batches_with_ids_and_fields(tmp_path: Path) -> None:
    store = FlakyStore()
    journal = _journal(store, tmp_path / "outbox.sqlite3")
    journal.extend(_entry(i) for i in range(100))
    assert journal.flush(30)
    journal.close()
    assert sorted(store.episodes) == sorted(f"run-{i}" for i in range(100))
    assert store.writes < 100  # batched, not one write per answer
    stored = store.episodes["run-3"]
    assert (stored.response, stored.confirmed, stored.stimulus) == ("a", True, '{"x": 3.0}')
    assert journal.status().written == 100
    assert journal.status().pending == 0


def test_store_down_spills_reports_and_replays_exactly_once(tmp_path: Path) -> None:
    store, reports = FlakyStore(), Reports()
    journal = _journal(store, tmp_path / "outbox.sqlite3", reports)
    journal.extend(_entry(i) for i in range(40))
    assert journal.flush(30)
    store.down = True
    for i in range(40, 240):
        journal.append(_entry(i))
    assert not journal.flush(1.0)
    status = journal.status()
    assert not status.up
    assert status.pending == 200
    assert status.spilled >= 200
    assert ("episodic", False) in reports.seen
    assert "StoreUnavailableError" in (status.last_error or "")

    store.down = False
    assert journal.flush(30)
    journal.close()
    assert reports.seen[-1] == ("episodic", True)
    assert len(store.episodes) == 240
    assert journal.status().written == 240
    assert journal.status().replayed == 200


def test_outbox_survives_a_crash_and_is_replayed_by_the_next_journal(tmp_path: Path) -> None:
    store = FlakyStore()
    store.down = True
    first = _journal(store, tmp_path / "outbox.sqlite3")
    first.extend(_entry(i) for i in range(50))
    first.close()  # store still down: everything is in the outbox, nothing lost
    assert store.episodes == {}

    store.down = False
    second = _journal(store, tmp_path / "outbox.sqlite3")
    assert second.flush(30)
    second.close()
    assert sorted(store.episodes) == sorted(f"run-{i}" for i in range(50))


def test_entries_round_trip_through_the_outbox_record() -> None:
    entry = _entry(7)
    again = JournalEntry.from_json(entry.to_json())
    assert again.episode() == entry.episode()
    assert (again.tier, again.gain, again.state) == ("instinct", 0.5, "processing")


class SlowStore(FlakyStore):
    """A store that takes a while per write, so answers outrun it."""

    def record_episodes(self, batch: Iterable[Episode]) -> int:
        threading.Event().wait(0.02)
        return super().record_episodes(batch)


def test_a_slow_store_spills_past_max_buffer_and_still_writes_each_episode_once(
    tmp_path: Path,
) -> None:
    store = SlowStore()
    journal = EpisodeJournal(store, tmp_path / "outbox.sqlite3", batch=8, max_buffer=20)
    for i in range(400):
        journal.append(_entry(i))
    assert journal.flush(60)
    journal.close()
    assert journal.status().spilled > 0  # memory stayed bounded: the backlog went to disk
    assert sorted(store.episodes) == sorted(f"run-{i}" for i in range(400))
    assert journal.status().written == 400
