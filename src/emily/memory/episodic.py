r"""Episodic memory: what happened, as a property graph in FalkorDB.

Graph: ``(:Stimulus)-[:TRIGGERED]->(:Episode)-[:RESPONDED]->(:Response)``,
``(:Hypothesis)-[:EXPLAINS]->(:Episode)`` and ``(:Episode)-[:NEXT]->(:Episode)`` in time order.
Stimuli, responses and hypotheses are shared nodes keyed by a hash of their text, so "the same
stimulus again" is one node with many episodes. Episodes are merged on a hash of their id too:
FalkorDB's ``MERGE`` did not match string keys holding control characters (``\n``, ``\x01``),
which duplicated such episodes on replay; a hex key always matches, and ``id`` is kept as text.
The same class serves the embedded server and a configured FalkorDB URL; only
:func:`open_episodic` differs.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import redis
from falkordb import FalkorDB

from emily.core import Clock, InputError, system_clock
from emily.core.settings import EmilySettings
from emily.memory import _cypher as q
from emily.memory._falkor_server import EmbeddedFalkorDB
from emily.memory._text import decode_text, encode_text
from emily.memory._time import from_micros, to_micros
from emily.memory.errors import StoreUnavailableError
from emily.memory.models import Episode, Neighbour, StoredEpisode

GRAPH_NAME = "emily_episodic"
NEXT_WINDOW_US = 3_600_000_000  # an hour: episodes further apart are not chained by NEXT
_T = TypeVar("_T")


class StimulusIndex(Protocol):
    """What episodic memory needs from semantic memory to find episodes by stimulus similarity."""

    def index_stimuli(self, stimuli: dict[str, str]) -> None:
        """Store (idempotently) the embedding of each stimulus text under its key."""
        ...

    def similar_stimuli(self, text: str, k: int) -> list[str]:
        """Keys of the ``k`` stimuli nearest to ``text``, nearest first."""
        ...


def text_key(text: str) -> str:
    """Stable key of a text (any ``str``, including lone surrogates): a SHA-256 prefix."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _row_to_episode(row: Sequence[Any]) -> StoredEpisode:
    hyps = tuple(sorted(decode_text(h) for h in row[8] if h is not None))
    return StoredEpisode(
        id=decode_text(row[0]),
        timestamp=from_micros(int(row[1])),
        stimulus=decode_text(row[2]),
        stimulus_key=row[3],
        response=decode_text(row[4]),
        response_key=row[5],
        confirmed=bool(row[6]),
        confidence=float(row[7]),
        hypotheses=hyps,
        consolidated=bool(row[9]),
    )


class EpisodicMemory:
    """Record and recall episodes. Every write is idempotent (``MERGE`` on caller-chosen ids).

    Args:
        client: A connected ``FalkorDB`` client (embedded socket or server URL).
        server: The embedded server this object owns, stopped on :meth:`close`; ``None`` for a URL.
        stimulus_index: Optional semantic index written on record, used by :meth:`similar`.
        clock: Injectable clock (the temporal lock).
    """

    def __init__(
        self,
        client: FalkorDB,
        *,
        server: EmbeddedFalkorDB | None = None,
        stimulus_index: StimulusIndex | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._graph = client.select_graph(GRAPH_NAME)
        self._server = server
        self.stimulus_index = stimulus_index
        self._clock = clock or system_clock()
        self._last: tuple[int, str] | None = None  # (ts, key) of the latest episode recorded
        self._ensure_indexes()

    def _call(self, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise StoreUnavailableError(f"episodic graph store unreachable: {exc}") from exc

    def _query(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        result = self._call(lambda: self._graph.query(cypher, params or {}))
        return list(result.result_set)

    def _ensure_indexes(self) -> None:
        for statement in q.INDEXES:
            try:
                self._query(statement)
            except redis.ResponseError as exc:
                if "already indexed" not in str(exc):
                    raise
        for statement in q.DROP_INDEXES:
            try:
                self._query(statement)
            except redis.ResponseError as exc:
                if "unable to drop index" not in str(exc).lower():
                    raise

    def ping(self) -> bool:
        """Whether the graph store answers now (never raises)."""
        try:
            return bool(self._client.connection.ping())
        except (redis.RedisError, OSError):
            return False

    def record_episodes(self, batch: Iterable[Episode]) -> int:
        """Store a batch of episodes in one round trip per kind of write; returns the batch size.

        Replaying a batch (after :class:`StoreUnavailableError`) never duplicates anything.
        """
        episodes = sorted(batch, key=lambda e: (e.timestamp, e.id))
        if not episodes:
            return 0
        if len({e.id for e in episodes}) != len(episodes):
            raise InputError("record_episodes: episode ids within one batch must be unique")
        rows: list[dict[str, Any]] = []
        hyp_rows: list[dict[str, Any]] = []
        stimuli: dict[str, str] = {}
        for e in episodes:
            skey, rkey = text_key(e.stimulus), text_key(e.response)
            stimuli[skey] = e.stimulus
            rows.append(
                {
                    "key": text_key(e.id),
                    "id": encode_text(e.id),
                    "ts": to_micros(e.timestamp),
                    "confirmed": e.confirmed,
                    "confidence": e.confidence,
                    "skey": skey,
                    "stext": encode_text(e.stimulus),
                    "rkey": rkey,
                    "rtext": encode_text(e.response),
                }
            )
            hyp_rows += [
                {"ekey": text_key(e.id), "hkey": text_key(h), "htext": encode_text(h)}
                for h in e.hypotheses
            ]
        keys: list[str] = [r["key"] for r in rows]
        before = self._predecessor(int(rows[0]["ts"]), keys)
        self._query(q.RECORD, {"rows": rows})
        if hyp_rows:
            self._query(q.RECORD_HYPOTHESES, {"rows": hyp_rows})
        chain = ([before] if before else []) + keys
        pairs = [{"a": a, "b": b} for a, b in itertools.pairwise(chain)]
        if pairs:
            self._query(q.LINK_NEXT, {"pairs": pairs})
        if self.stimulus_index is not None:
            self.stimulus_index.index_stimuli(stimuli)
        if self._last is None or int(rows[-1]["ts"]) >= self._last[0]:
            self._last = (int(rows[-1]["ts"]), keys[-1])
        return len(episodes)

    def _predecessor(self, ts: int, keys: list[str]) -> str | None:
        """The episode a batch starting at ``ts`` follows (``NEXT``).

        The common case (batches in time order from this process) needs no query. Otherwise
        the graph is asked for the latest episode in the ``NEXT_WINDOW_US`` before ``ts``: a
        bounded index range, since an unbounded one costs O(episodes) per batch. Episodes
        further apart than the window start a new chain.
        """
        if self._last is not None and self._last[0] <= ts:
            return self._last[1]
        found = self._query(q.PREDECESSOR, {"ts": ts, "since": ts - NEXT_WINDOW_US, "keys": keys})
        return str(found[0][0]) if found else None

    def recent(self, n: int = 50) -> list[StoredEpisode]:
        """The ``n`` latest episodes, newest first."""
        if n < 0:
            raise InputError(f"recent: n must be >= 0, got {n}")
        rows = self._query(q.RECENT, {"n": n})
        return sorted(map(_row_to_episode, rows), key=lambda e: (e.timestamp, e.id), reverse=True)

    def between(self, start: datetime, end: datetime) -> list[StoredEpisode]:
        """Episodes with ``start <= timestamp < end``, oldest first."""
        if start.tzinfo is None or end.tzinfo is None:
            raise InputError("between: start and end must be timezone-aware datetimes")
        rows = self._query(q.BETWEEN, {"start": to_micros(start), "end": to_micros(end)})
        return sorted(map(_row_to_episode, rows), key=lambda e: (e.timestamp, e.id))

    def get(self, ids: Sequence[str]) -> list[StoredEpisode]:
        """Episodes with these ids (missing ids are skipped), oldest first."""
        rows = self._query(q.BY_IDS, {"keys": [text_key(i) for i in ids]})
        return sorted(map(_row_to_episode, rows), key=lambda e: (e.timestamp, e.id))

    def similar(self, stimulus: str, k: int = 5, per_stimulus: int = 20) -> list[StoredEpisode]:
        """Episodes whose stimulus is among the ``k`` nearest to ``stimulus`` (semantic search)."""
        if self.stimulus_index is None:
            raise InputError("similar: this episodic memory has no stimulus index attached")
        keys = self.stimulus_index.similar_stimuli(stimulus, k)
        rank = {key: i for i, key in enumerate(keys)}
        rows = self._query(q.BY_STIMULUS_KEYS, {"keys": keys, "n": per_stimulus * max(k, 1)})
        found = list(map(_row_to_episode, rows))
        return sorted(found, key=lambda e: (rank.get(e.stimulus_key, k), -to_micros(e.timestamp)))

    def neighbours(self, label: str, key: str, limit: int = 100) -> list[Neighbour]:
        """Nodes adjacent to the ``label`` node with this id (Episode) or key (others)."""
        if label not in q.NEIGHBOURS:
            raise InputError(f"neighbours: label must be one of {sorted(q.NEIGHBOURS)}")
        out_q, in_q = q.NEIGHBOURS[label]
        node = text_key(key) if label == "Episode" else key
        found = []
        for cypher, outgoing in ((out_q, True), (in_q, False)):
            for row in self._query(cypher, {"key": node, "n": limit}):
                text = decode_text(row[3]) if row[3] is not None else None
                ident = decode_text(row[1]) if row[0] == "Episode" else row[1]
                found.append(
                    Neighbour(
                        label=row[0], key=ident, relation=row[2], outgoing=outgoing, text=text
                    )
                )
        return found

    def pending(self, cutoff: datetime) -> list[tuple[str, str]]:
        """(episode id, stimulus key) of unconsolidated episodes up to ``cutoff``, oldest first."""
        rows = self._query(q.PENDING, {"cutoff": to_micros(cutoff)})
        return [(decode_text(r[0]), r[1]) for r in rows]

    def mark_consolidated(self, ids: Sequence[str]) -> None:
        """Flag episodes as consolidated (idempotent)."""
        self._query(q.MARK_CONSOLIDATED, {"keys": [text_key(i) for i in ids]})

    def confirmations(self, stimulus_keys: Sequence[str]) -> list[tuple[str, str, str, str, int]]:
        """(stimulus key, response key, stimulus, response, confirmed count) over all episodes."""
        rows = self._query(q.CONFIRMATIONS, {"keys": list(stimulus_keys)})
        return [(r[0], r[1], decode_text(r[2]), decode_text(r[3]), int(r[4])) for r in rows]

    def count(self, *, consolidated: bool | None = None) -> int:
        """Number of episodes (all, or only the consolidated ones)."""
        rows = self._query(q.COUNT_CONSOLIDATED if consolidated else q.COUNT)
        total = int(rows[0][0])
        if consolidated is False:
            return total - self.count(consolidated=True)
        return total

    def close(self) -> None:
        """Close the connection and stop the embedded server if this object started it."""
        self._client.connection.close()
        if self._server is not None:
            self._server.stop()


def connect_falkordb(
    settings: EmilySettings, *, clock: Clock | None = None
) -> tuple[FalkorDB, EmbeddedFalkorDB | None]:
    """A client for the configured FalkorDB URL, else for the embedded server (started here)."""
    if settings.falkordb_url:
        return FalkorDB.from_url(settings.falkordb_url), None
    server = EmbeddedFalkorDB(settings.path("falkordb"), clock=clock)
    address = server.start()
    return FalkorDB(unix_socket_path=address.unix_socket), server


def open_episodic(
    settings: EmilySettings,
    *,
    stimulus_index: StimulusIndex | None = None,
    clock: Clock | None = None,
) -> EpisodicMemory:
    """Episodic memory on the store the settings choose (same code path for both)."""
    server = None
    try:
        client, server = connect_falkordb(settings, clock=clock)
        return EpisodicMemory(client, server=server, stimulus_index=stimulus_index, clock=clock)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        if server is not None:
            server.stop()
        raise StoreUnavailableError(f"cannot open episodic store: {exc}") from exc
