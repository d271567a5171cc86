"""Live features from the bus into the online store (the seed's Kafka stream, on Zenoh).

Producers publish one ``FeatureRow`` as JSON on ``emily/features/alpha/<episode_id>``;
``FeatureStreamWriter`` subscribes to ``emily/features/alpha/**``, validates each message and
writes them in batches (``batch_size`` rows, or every ``flush_interval_s``) into the online store,
in the layout Feast reads. A malformed message is counted and dropped: it never blocks the
stream nor touches stored rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from emily.core import InputError
from emily.core.closing import Closing
from emily.ops.features._online import FeatureRow, OnlineStore

FEATURES_KEY = "emily/features/alpha"


class FeatureBus(Protocol):
    """What the writer needs of ``emily.runtime.bus.ZenohBus``."""

    def publish(self, key: str, payload: bytes) -> None: ...

    def subscribe(self, key: str, handler: Callable[[str, bytes], None]) -> None: ...


def publish_features(bus: FeatureBus, row: FeatureRow) -> str:
    """Publish ``row`` on ``emily/features/alpha/<episode_id>``; returns the key."""
    if not row.episode_id or "/" in row.episode_id or "*" in row.episode_id:
        raise InputError(f"episode_id {row.episode_id!r} cannot be a bus key segment")
    key = f"{FEATURES_KEY}/{row.episode_id}"
    bus.publish(key, row.model_dump_json().encode())
    return key


@dataclass
class StreamStats:
    """Counters: messages received, rows written, malformed messages dropped, write failures."""

    received: int = 0
    written: int = 0
    malformed: int = 0
    failed_writes: int = 0


class FeatureStreamWriter(Closing):
    """Subscribe to live features on the bus and write them, batched, to the online store."""

    def __init__(
        self,
        bus: FeatureBus,
        store: OnlineStore,
        *,
        batch_size: int = 64,
        flush_interval_s: float = 0.05,
        key: str = f"{FEATURES_KEY}/**",
    ) -> None:
        if batch_size < 1 or not flush_interval_s > 0:
            raise InputError(
                f"batch_size must be >= 1 and flush_interval_s > 0, got {batch_size}, "
                f"{flush_interval_s}"
            )
        self._store = store
        self._batch_size = batch_size
        self._interval = flush_interval_s
        self._pending: list[FeatureRow] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self.stats = StreamStats()
        self._flusher = threading.Thread(
            target=self._flush_loop, name="feature-stream", daemon=True
        )
        self._flusher.start()
        bus.subscribe(key, self._on_message)

    def _on_message(self, key: str, payload: bytes) -> None:
        try:
            row = FeatureRow.model_validate_json(payload)
        except ValidationError:
            with self._lock:
                self.stats.malformed += 1
            return
        with self._lock:
            self.stats.received += 1
            self._pending.append(row)
            full = len(self._pending) >= self._batch_size
        if full:
            self.flush()

    def flush(self) -> int:
        """Write what is pending now; returns the rows written (kept for retry on failure)."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                written = self._store.write(batch)
            except Exception:  # the store is down: keep the rows for the next flush
                with self._lock:
                    self._pending[:0] = batch
                    self.stats.failed_writes += 1
                return 0
            with self._lock:
                self.stats.written += written
            return written

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        """Stop the periodic flush and write what is left."""
        self._stop.set()
        self._flusher.join()
        self.flush()
