"""The bus between tiers: Zenoh in peer mode on loopback, with an in-process fallback.

Why Zenoh peers and no router: on one machine two processes talk directly over a loopback TCP
link (ENGINES.md measured a 140 µs p50 round trip), and there is no daemon to start. Multicast
scouting is off so nothing leaves loopback; peers find each other by explicit ``listen`` /
``connect`` endpoints.

Why an outbox: the reflex path must never wait for the bus. ``ResilientPublisher`` hands a
message to Zenoh when a peer subscribes to its key (Zenoh drops a put that matches no
subscriber, and a connected peer is not yet a subscribed one), and otherwise queues it
(bounded, oldest dropped first and counted) and reports *degraded*; when a subscriber returns
the queue is flushed in order: the "catches up when it returns" of the runtime contract.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import zenoh

from emily.core.errors import InputError

Role = Literal["listen", "connect"]
Handler = Callable[[str, bytes], None]


def zenoh_config(endpoint: str, role: Role) -> zenoh.Config:
    """A peer-mode config bound to ``endpoint`` only, with multicast scouting off."""
    if not endpoint.startswith(("tcp/127.", "tcp/[::1]", "tcp/localhost", "unixsock-stream/")):
        raise InputError(
            f"bus endpoint {endpoint!r} is not on loopback; expected e.g. tcp/127.0.0.1:7447"
        )
    config = zenoh.Config()
    config.insert_json5("mode", json.dumps("peer"))
    config.insert_json5("scouting/multicast/enabled", "false")
    config.insert_json5("scouting/gossip/enabled", "false")
    config.insert_json5(f"{role}/endpoints", json.dumps([endpoint]))
    return config


class ZenohBus:
    """One Zenoh peer session: publish bytes on a key, subscribe with a callback."""

    def __init__(self, endpoint: str, role: Role) -> None:
        self.endpoint = endpoint
        self._session = zenoh.open(zenoh_config(endpoint, role))
        self._publishers: dict[str, zenoh.Publisher] = {}
        self._subscribers: list[zenoh.Subscriber[None]] = []

    def _publisher(self, key: str) -> zenoh.Publisher:
        publisher = self._publishers.get(key)
        if publisher is None:
            publisher = self._session.declare_publisher(key)
            self._publishers[key] = publisher
        return publisher

    def publish(self, key: str, payload: bytes) -> None:
        self._publisher(key).put(payload)

    def has_subscribers(self, key: str) -> bool:
        """True when some peer's subscription matches ``key``: only then is a put delivered."""
        status: Any = self._publisher(key).matching_status  # stubs say bool; it is an object
        return bool(status.matching)

    def subscribe(self, key: str, handler: Handler) -> None:
        """Call ``handler(key, payload)`` for every sample matching ``key`` (wildcards allowed)."""

        def on_sample(sample: zenoh.Sample) -> None:
            handler(str(sample.key_expr), sample.payload.to_bytes())

        self._subscribers.append(self._session.declare_subscriber(key, on_sample))

    def peer_count(self) -> int:
        return len(list(self._session.info.peers_zid()))

    def close(self) -> None:
        for subscriber in self._subscribers:
            subscriber.undeclare()  # type: ignore[no-untyped-call]
        for publisher in self._publishers.values():
            publisher.undeclare()  # type: ignore[no-untyped-call]
        self._session.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PeerLink(Protocol):
    """What ``ResilientPublisher`` needs from a bus (``ZenohBus`` or a test double)."""

    def publish(self, key: str, payload: bytes) -> None: ...

    def has_subscribers(self, key: str) -> bool: ...


@dataclass
class OutboxStats:
    """Counters for metrics: what was sent directly, queued, flushed later, or dropped."""

    sent: int = 0
    queued: int = 0
    flushed: int = 0
    dropped: int = 0
    degraded_transitions: list[bool] = field(default_factory=list)


class ResilientPublisher:
    """Publish on one key without blocking the caller; queue while nobody subscribes."""

    def __init__(self, link: PeerLink, key: str, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise InputError(f"outbox capacity must be >= 1, got {capacity}")
        self._link = link
        self.key = key
        self._outbox: deque[bytes] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._degraded = False
        self.stats = OutboxStats()

    @property
    def degraded(self) -> bool:
        """True while messages are being queued because no peer is reachable."""
        return self._degraded

    @property
    def pending(self) -> int:
        return len(self._outbox)

    def publish(self, payload: bytes) -> None:
        with self._lock:
            if self._connected():
                self._flush_locked()
                if not self._outbox:
                    self._link.publish(self.key, payload)
                    self.stats.sent += 1
                    return
            if len(self._outbox) >= self._capacity:
                self._outbox.popleft()
                self.stats.dropped += 1
            self._outbox.append(payload)
            self.stats.queued += 1

    def poll(self) -> int:
        """Re-check the link and flush what is queued; returns how many messages were flushed."""
        with self._lock:
            return self._flush_locked() if self._connected() else 0

    def _connected(self) -> bool:
        try:
            up = self._link.has_subscribers(self.key)
        except Exception:  # a broken session counts as down; the runtime keeps answering
            up = False
        if up == self._degraded:  # state changes: record it for the metrics/state history
            self._degraded = not up
            self.stats.degraded_transitions.append(self._degraded)
        return up

    def _flush_locked(self) -> int:
        flushed = 0
        while self._outbox:
            payload = self._outbox[0]
            try:
                self._link.publish(self.key, payload)
            except Exception:  # keep the message; try again on the next poll
                self._degraded = True
                break
            self._outbox.popleft()
            flushed += 1
        self.stats.flushed += flushed
        return flushed
