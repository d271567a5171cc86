"""The episodic journal: every answered stimulus becomes an episode, written off the reflex path.

Why a journal and not a write per answer: a graph write costs milliseconds, an answer
microseconds. The runtime only appends a small record to an in-memory buffer; a background
thread turns records into ``Episode`` batches and writes them with one ``record_episodes`` call.

Why a spill file: when the graph store is unreachable the journal must neither block the runtime
nor grow without bound nor lose what it took. Records then go to an append-only SQLite outbox
under ``EMILY_HOME`` (``journal/outbox.sqlite3``, WAL, ``synchronous=FULL``), the journal reports
the dependency down (``Regulator.report_dependency``) and in its metrics, and it retries; when
the store answers again the outbox is replayed in order and each batch is deleted only after the
store accepted it. ``record_episodes`` merges on episode id, so a batch replayed twice (a crash
between the write and the delete) never duplicates anything. An outbox left by a crashed run is
replayed when the next journal opens.

"Acknowledged" means counted in ``written`` (in the graph) or held in the outbox; records still in
the in-memory buffer (at most one flush interval's worth while the store is up) are not yet.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from emily.core import Clock, SovereignModel, system_clock
from emily.core.settings import EmilySettings
from emily.memory import Episode
from emily.runtime.orphan_watch import die_with
from emily.runtime.stimuli import Stimulus

DEPENDENCY = "episodic"
"""The name the journal reports to the regulator."""


class EpisodeSink(Protocol):
    """Where episodes go (``EpisodicMemory`` or a test double)."""

    def record_episodes(self, batch: Iterable[Episode]) -> int: ...


class Regulated(Protocol):
    """The part of the regulator the journal tells about the store's health."""

    def report_dependency(self, name: str, up: bool) -> None: ...


def stimulus_text(stimulus: Stimulus) -> str:
    """The stimulus as the graph stores it: its text, or its features as canonical JSON."""
    if stimulus.text is not None:
        return stimulus.text
    return json.dumps(stimulus.features, sort_keys=True)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One answer as the journal keeps it until it is written (plain data, cheap to make: the
    stimulus is turned into text on the journal's thread, not on the reflex path)."""

    id: str
    timestamp: datetime
    stimulus: Stimulus
    response: str
    confirmed: bool
    confidence: float
    hypotheses: tuple[str, ...]
    tier: str
    gain: float
    state: str
    latency_s: float

    def to_json(self) -> str:
        return json.dumps(
            [
                self.id,
                self.timestamp.isoformat(),
                stimulus_text(self.stimulus),
                self.response,
                self.confirmed,
                self.confidence,
                list(self.hypotheses),
                self.tier,
                self.gain,
                self.state,
                self.latency_s,
            ]
        )

    @classmethod
    def from_json(cls, text: str) -> JournalEntry:
        v = json.loads(text)
        stimulus = Stimulus.model_construct(
            id=v[0], features=None, text=v[2], salience=1.0, label=None
        )
        return cls(
            v[0], datetime.fromisoformat(v[1]), stimulus, v[3], v[4], v[5], tuple(v[6]), *v[7:]
        )

    def row(self) -> tuple[Any, ...]:
        """Plain data for another process (features stay a dict: text is made there)."""
        s = self.stimulus
        return (self.id, self.timestamp, s.text, s.features, self.response, self.confirmed,
                self.confidence, self.hypotheses, self.tier, self.gain, self.state,
                self.latency_s)  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> JournalEntry:
        stimulus = Stimulus.model_construct(
            id=row[0], features=row[3], text=row[2], salience=1.0, label=None
        )
        return cls(row[0], row[1], stimulus, *row[4:])

    def episode(self) -> Episode:
        """The graph's record. Built without re-validation: every field was made valid here.

        ``Episode`` has no fields for tier, gain, state and latency yet; they are kept in the
        outbox record and the runtime's metrics (see the report on issue 8).
        """
        return Episode.model_construct(
            id=self.id,
            timestamp=self.timestamp,
            stimulus=stimulus_text(self.stimulus),
            response=self.response,
            confirmed=self.confirmed,
            confidence=min(max(self.confidence, 0.0), 1.0),
            hypotheses=self.hypotheses,
        )


class JournalStatus(SovereignModel):
    """What the live view, the summary and the HTTP API show about the journal."""

    up: bool
    written: int
    pending: int
    spilled: int
    replayed: int
    failures: int
    last_error: str | None


class _Outbox:
    """The durable spill: an append-only SQLite table, oldest first, deleted after replay."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, row TEXT)"
        )
        self.count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def append(self, entries: Sequence[JournalEntry]) -> None:
        with self._db:  # one transaction: all or nothing
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO outbox (row) VALUES (?)", [(e.to_json(),) for e in entries]
            )
        self.count += len(entries)

    def head(self, n: int) -> tuple[int, list[JournalEntry]]:
        rows = self._db.execute("SELECT seq, row FROM outbox ORDER BY seq LIMIT ?", (n,)).fetchall()
        last = int(rows[-1][0]) if rows else 0
        return last, [JournalEntry.from_json(r[1]) for r in rows]

    def drop_through(self, seq: int, n: int) -> None:
        self._db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))
        self.count -= n

    def close(self) -> None:
        self._db.close()


class EpisodeJournal:
    """Buffer answers, write them as episode batches, spill and replay while the store is down.

    Args:
        sink: The episodic store (``EpisodicMemory``).
        outbox_path: The durable spill file (``EMILY_HOME/journal/outbox.sqlite3``).
        regulator: Told ``report_dependency("episodic", up)`` on every change of health.
        registry: Prometheus registry for the journal's metrics (``None``: none exported).
        clock: Paces retries (the temporal lock).
        batch: Episodes per ``record_episodes`` call.
        flush_interval_s: Longest wait before a partial batch is written.
        retry_s: Wait between attempts while the store is down.
        max_buffer: Records held in memory before the journal spills them to the outbox (a
            store slower than the answers, or down). While one write is in flight the buffer
            can grow past it by what arrives during that write.
    """

    def __init__(
        self,
        sink: EpisodeSink,
        outbox_path: Path,
        *,
        regulator: Regulated | None = None,
        registry: CollectorRegistry | None = None,
        clock: Clock | None = None,
        batch: int = 1024,
        flush_interval_s: float = 0.05,
        retry_s: float = 0.25,
        max_buffer: int = 50_000,
    ) -> None:
        self._sink = sink
        self._regulator = regulator
        self._clock = clock or system_clock()
        self._batch = batch
        self._interval = flush_interval_s
        self._retry_s = retry_s
        self._max_buffer = max_buffer
        self._buffer: deque[JournalEntry] = deque()
        self._cond = threading.Condition()
        self._outbox = _Outbox(outbox_path)
        self._up = True
        self._next_retry = 0.0
        self._stopping = False
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.written = 0
        self.spilled = 0
        self.replayed = 0
        self.failures = 0
        self.last_error: str | None = None
        self._metrics = _JournalMetrics(registry) if registry is not None else None
        self._thread = threading.Thread(target=self._serve, name="emily-journal", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the runtime's side
    def append(self, entry: JournalEntry) -> None:
        """Take one record (never blocks, never touches the store)."""
        self._buffer.append(entry)
        if len(self._buffer) == self._batch:
            with self._cond:
                self._cond.notify_all()

    def extend(self, entries: Iterable[JournalEntry]) -> None:
        """Take many records at once (the batch path)."""
        self._buffer.extend(entries)
        if len(self._buffer) >= self._batch:
            with self._cond:
                self._cond.notify_all()

    @property
    def up(self) -> bool:
        """Whether the last write to the store succeeded."""
        return self._up

    @property
    def pending(self) -> int:
        """Records taken but not yet in the graph (in memory or in the outbox)."""
        with self._count_lock:  # records move buffer -> in flight -> outbox under this lock
            return len(self._buffer) + self._outbox.count + self._in_flight

    def status(self) -> JournalStatus:
        return JournalStatus(
            up=self._up,
            written=self.written,
            pending=self.pending,
            spilled=self.spilled,
            replayed=self.replayed,
            failures=self.failures,
            last_error=self.last_error,
        )

    def flush(self, timeout_s: float = 30.0, *, until_durable: bool = False) -> bool:
        """Wait until everything taken is in the graph; ``False`` if it is not within the time.

        ``until_durable``: also stop waiting (``False``) once the store is down and everything
        taken is in the outbox: a run that ends while the store is unreachable has nothing to
        wait for, and its outbox is replayed by the next journal.
        """
        deadline = self._clock.monotonic() + timeout_s
        with self._cond:
            self._cond.notify_all()
            while self.pending:
                if until_durable and self._all_spilled():
                    return False
                left = deadline - self._clock.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, self._interval))
        return True

    def _all_spilled(self) -> bool:
        """The store is down and every record taken is held in the outbox (none in memory)."""
        with self._count_lock:
            return not self._up and not self._buffer and not self._in_flight

    def close(self, timeout_s: float = 30.0) -> None:
        """Write (or spill) what is buffered, then stop; the outbox keeps anything unwritten."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        self._outbox.close()

    # ------------------------------------------------------------------ the thread
    def _serve(self) -> None:
        while True:
            with self._cond:
                if not self._stopping and len(self._buffer) < self._batch:
                    self._cond.wait(self._interval)
                stopping = self._stopping
            self._step(final=stopping)
            with self._cond:
                self._cond.notify_all()
            if stopping and not self._buffer:
                return

    def _take(self, n: int) -> list[JournalEntry]:
        """Pop up to ``n`` records, counted in flight *before* they leave the buffer, so
        ``pending`` never reads low (a ``flush`` must not return while records move)."""
        with self._count_lock:
            n = min(n, len(self._buffer))
            self._in_flight += n
            pop = self._buffer.popleft
            return [pop() for _ in range(n)]

    def _step(self, *, final: bool) -> None:
        if self._up and not self._outbox.count:
            if len(self._buffer) > self._max_buffer:  # the store is slower than the answers:
                self._step_spill()  # bound memory; the outbox is replayed in order below
                self._replay(final=final)
                return
            while self._buffer and self._up:
                self._write_direct(self._take(self._batch))
                if len(self._buffer) < self._batch and not final:
                    break
            return
        # Degraded, or replay outstanding: everything buffered goes to the outbox, in order.
        self._step_spill()
        self._publish_metrics()
        if self._clock.monotonic() >= self._next_retry or final:
            self._replay(final=final)

    def _write_direct(self, entries: list[JournalEntry]) -> None:
        try:
            self._sink.record_episodes(self._episodes(entries))
        except Exception as exc:  # the store is down or refused: keep everything, report it
            self._land(entries)
            self.spilled += len(entries)
            self._failed(exc)
        else:
            self.written += len(entries)  # counted before it stops being pending
            with self._count_lock:
                self._in_flight -= len(entries)
        self._publish_metrics()

    def _land(self, entries: list[JournalEntry]) -> None:
        """In-flight records into the outbox, counted in one step."""
        with self._count_lock:
            self._outbox.append(entries)
            self._in_flight -= len(entries)

    def _replay(self, *, final: bool) -> None:
        while self._outbox.count:
            seq, entries = self._outbox.head(self._batch)
            try:
                self._sink.record_episodes(self._episodes(entries))
            except Exception as exc:
                self._failed(exc)
                return
            # Up before the records stop being pending: a ``flush`` that returns (nothing
            # pending) must find the journal up, never a moment before it is marked so.
            self._set_up(True)
            self.written += len(entries)  # counted before it stops being pending
            self.replayed += len(entries)
            with self._count_lock:
                self._outbox.drop_through(seq, len(entries))
            self._publish_metrics()
            if self._buffer and not final and len(self._buffer) >= self._max_buffer:
                self._step_spill()
        self._set_up(True)

    def _step_spill(self) -> None:
        """Move everything buffered to the outbox (in order), so memory stays bounded."""
        while self._buffer:
            taken = self._take(self._batch * 8)
            self._land(taken)
            self.spilled += len(taken)

    def _episodes(self, entries: list[JournalEntry]) -> Any:
        """What the sink takes: entries as they are for a ``ProcessEpisodic`` (it builds the
        episodes in its own process), else ``Episode`` records."""
        if isinstance(self._sink, ProcessEpisodic):
            return entries
        return [e.episode() for e in entries]

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._next_retry = self._clock.monotonic() + self._retry_s
        self._set_up(False)

    def _set_up(self, up: bool) -> None:
        if up == self._up:
            return
        self._up = up
        if self._regulator is not None:
            self._regulator.report_dependency(DEPENDENCY, up)
        self._publish_metrics()

    def _publish_metrics(self) -> None:
        if self._metrics is not None:
            self._metrics.update(self)


class _JournalMetrics:
    """``emily_journal_*`` metrics (kept here until they join ``runtime/metrics.py``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "emily_journal_up", "1 when the episodic store accepts writes.", registry=registry
        )
        self.pending = Gauge(
            "emily_journal_pending_episodes",
            "Episodes taken by the journal and not yet in the graph (memory + outbox).",
            registry=registry,
        )
        self.episodes = Counter(
            "emily_journal_episodes",
            "Episodes by outcome: written to the graph, spilled to the outbox, replayed.",
            ["outcome"],
            registry=registry,
        )
        self._seen: dict[str, int] = {"written": 0, "spilled": 0, "replayed": 0}
        self.up.set(1.0)

    def update(self, journal: EpisodeJournal) -> None:
        self.up.set(1.0 if journal.up else 0.0)
        self.pending.set(journal.pending)
        now: dict[str, Any] = {
            "written": journal.written,
            "spilled": journal.spilled,
            "replayed": journal.replayed,
        }
        for outcome, value in now.items():
            delta = value - self._seen[outcome]
            if delta > 0:
                self.episodes.labels(outcome=outcome).inc(delta)
                self._seen[outcome] = value


_WRITER: dict[str, Any] = {}
"""The writer process's state: its settings and, once opened, its ``EpisodicMemory``."""


def _child_init(settings: EmilySettings, parent: int) -> None:
    _WRITER["settings"] = settings
    die_with(parent)


def _child_record(rows: list[tuple[Any, ...]]) -> int:
    """In the writer process: build the episodes and write them (opening the store if needed)."""
    memory = _WRITER.get("memory")
    if memory is None:
        # Imported here: only the writer process opens the graph; the runtime's process would
        # load the FalkorDB and redis clients (~0.3 s) before its stream for nothing.
        from emily.memory import open_episodic

        memory = _WRITER["memory"] = open_episodic(_WRITER["settings"])
    written: int = memory.record_episodes([JournalEntry.from_row(r).episode() for r in rows])
    return written


def _child_close() -> None:
    memory = _WRITER.pop("memory", None)
    if memory is not None:
        memory.close()


class ProcessEpisodic:
    """An ``EpisodeSink`` whose graph writes run in a separate process.

    Why: building Cypher parameters and parsing replies for a batch is pure Python (the
    FalkorDB client spends ~60 µs per episode on it); in a thread of the runtime's process it
    holds the GIL in multi-millisecond slices and the reflex path waits behind it (p99).
    In a child process it runs beside the reflex path; the journal's thread only pickles plain
    tuples and waits. Failures (``StoreUnavailableError``) come back as exceptions, so the
    journal's spill and replay work unchanged.
    """

    def __init__(self, settings: EmilySettings) -> None:
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_init,
            initargs=(settings, os.getpid()),
        )

    def record_episodes(self, batch: Iterable[Episode]) -> int:
        """Accepts episodes (as the protocol says) or, faster, journal entries."""
        rows = [e.row() if isinstance(e, JournalEntry) else _episode_row(e) for e in batch]
        return self._pool.submit(_child_record, rows).result()

    def close(self) -> None:
        try:
            self._pool.submit(_child_close).result(timeout=60)
        finally:
            self._pool.shutdown(wait=True)


def _episode_row(e: Episode) -> tuple[Any, ...]:
    return (e.id, e.timestamp, e.stimulus, None, e.response, e.confirmed, e.confidence,
            e.hypotheses, "", 0.0, "", 0.0)  # fmt: skip
