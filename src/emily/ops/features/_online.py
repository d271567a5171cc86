"""Online feature lookups and writes straight on the store Feast materialised into.

Why not Feast's ``get_online_features``: Feast cannot be imported in the main environment
(ADR 0010), and a subprocess per lookup would cost milliseconds. The runtime reads the SQLite
table or the Redis hashes directly, in the layout documented in ``_codec`` and checked against
Feast by the integration tests; the bus stream writes the same layout, so Feast reads what we
wrote and we read what Feast wrote.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from emily.core import InputError, SovereignModel
from emily.core.closing import Closing
from emily.ops.features._codec import (
    decode_number,
    decode_timestamp,
    encode_float,
    encode_timestamp,
    entity_key,
    redis_field,
)
from emily.ops.features._config import FEATURE_NAMES, FEATURE_VIEW, JOIN_KEY, FeatureStoreConfig
from emily.ops.features._feast import FeatureStoreError


class FeatureRow(SovereignModel):
    """One episode's alpha features: a bus message and an online-store record."""

    episode_id: str
    event_timestamp: datetime
    alpha_power: float
    alpha_phase: float
    attention_score: float


Features = dict[str, float | None]


class OnlineStore(Protocol):
    """What the runtime needs: read features of episodes, write fresh rows."""

    def read(self, episode_ids: Sequence[str]) -> list[Features]: ...

    def write(self, rows: Sequence[FeatureRow]) -> int: ...

    def close(self) -> None: ...


def _values(row: FeatureRow) -> dict[str, float]:
    return {name: float(getattr(row, name)) for name in FEATURE_NAMES}


class SqliteOnlineStore:
    """Feast's SQLite online table ``<project>_alpha_oscillation_features``."""

    def __init__(self, path: str, table: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        self._table = table
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        if found is None:
            self._conn.close()
            raise FeatureStoreError(
                f"no online table {table!r} in {path}; run `emily features materialize` first"
            )
        self._select = f'SELECT feature_name, value FROM "{table}" WHERE entity_key = ?'

    def read(self, episode_ids: Sequence[str]) -> list[Features]:
        out = []
        with self._lock:
            for episode in episode_ids:
                rows = self._conn.execute(self._select, (entity_key(JOIN_KEY, episode),))
                found = {name: decode_number(value) for name, value in rows}
                out.append({name: found.get(name) for name in FEATURE_NAMES})
        return out

    def write(self, rows: Sequence[FeatureRow]) -> int:
        sql = (
            f'INSERT INTO "{self._table}" '
            "(entity_key, feature_name, value, value_text, event_ts, created_ts) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(entity_key, feature_name) DO UPDATE SET "
            "value = excluded.value, value_text = excluded.value_text, "
            "event_ts = excluded.event_ts, created_ts = excluded.created_ts"
        )
        batch = []
        for row in rows:
            key = entity_key(JOIN_KEY, row.episode_id)
            when = _feast_epoch(row.event_timestamp)
            for name, value in _values(row).items():
                blob = encode_float(value)
                text = str(decode_number(blob))  # Feast stores str() of the float32 value
                batch.append((key, name, blob, text, when, None))
        with self._lock, self._conn:
            self._conn.executemany(sql, batch)
        return len(rows)

    def close(self) -> None:
        self._conn.close()


def _feast_epoch(when: datetime) -> int:
    """``event_ts`` as Feast 0.67's SQLite adapter stores it: ``int(naive_utc.timestamp())``.

    Feast drops the timezone first, so the integer is read back through the local zone; we
    mirror it exactly (on a UTC host, as in the containers, it is the Unix time).
    """
    if when.tzinfo is None:
        raise InputError(f"event_timestamp {when.isoformat()} needs a timezone (UTC expected)")
    return int(when.astimezone(UTC).replace(tzinfo=None).timestamp())


class RedisOnlineStore:
    """Feast's Redis hashes ``<entity key><project>``; one HMGET per episode."""

    def __init__(self, url: str, project: str) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(url)
        self._suffix = project.encode()
        self._fields = [redis_field(FEATURE_VIEW, name) for name in FEATURE_NAMES]
        self._ts_field = f"_ts:{FEATURE_VIEW}".encode()

    def read(self, episode_ids: Sequence[str]) -> list[Features]:
        pipe = self._client.pipeline(transaction=False)
        for episode in episode_ids:
            pipe.hmget(entity_key(JOIN_KEY, episode) + self._suffix, self._fields)
        out = []
        for values in pipe.execute():
            out.append(
                {
                    name: None if value is None else decode_number(value)
                    for name, value in zip(FEATURE_NAMES, values, strict=True)
                }
            )
        return out

    def write(self, rows: Sequence[FeatureRow]) -> int:
        pipe = self._client.pipeline(transaction=False)
        for row in rows:
            mapping: dict[bytes, bytes] = {self._ts_field: encode_timestamp(row.event_timestamp)}
            for field, value in zip(self._fields, _values(row).values(), strict=True):
                mapping[field] = encode_float(value)
            pipe.hset(entity_key(JOIN_KEY, row.episode_id) + self._suffix, mapping=mapping)
        pipe.execute()
        return len(rows)

    def event_time(self, episode_id: str) -> datetime | None:
        """When the stored features of ``episode_id`` were observed (``None`` if absent)."""
        raw = self._client.hget(entity_key(JOIN_KEY, episode_id) + self._suffix, self._ts_field)
        return None if raw is None else decode_timestamp(raw)

    def close(self) -> None:
        self._client.close()


class OnlineFeatures(Closing):
    """The runtime's feature lookups: ``features.get(["ep_1"])`` -> one dict per episode.

    Example:
        >>> with OnlineFeatures(feature_store_config()) as features:  # doctest: +SKIP
        ...     features.get(["ep_000001"])[0]["alpha_power"]
    """

    def __init__(self, config: FeatureStoreConfig, store: OnlineStore | None = None) -> None:
        self.config = config
        self._store = store or open_online_store(config)

    def get(self, episode_ids: Sequence[str]) -> list[Features]:
        """Features of each episode, ``None`` values for an unknown episode."""
        if isinstance(episode_ids, str) or not all(isinstance(i, str) for i in episode_ids):
            raise InputError(f"episode_ids must be a list of strings, got {episode_ids!r}")
        return self._store.read(episode_ids)

    def put(self, rows: Sequence[FeatureRow | Mapping[str, Any]]) -> int:
        """Write fresh feature rows (validated) into the online store; returns how many."""
        valid = [r if isinstance(r, FeatureRow) else FeatureRow.model_validate(r) for r in rows]
        return self._store.write(valid)

    def close(self) -> None:
        self._store.close()


def open_online_store(config: FeatureStoreConfig) -> OnlineStore:
    """The direct reader/writer of ``config``'s online store (SQLite or Redis)."""
    if config.online == "redis":
        return RedisOnlineStore(config.redis_url or "", config.project)
    return SqliteOnlineStore(config.sqlite_path or "", config.table)
