"""The bus between tiers: Zenoh in peer mode on loopback, with an in-process fallback.

Why Zenoh peers and no router: on one machine two processes talk directly over a loopback TCP
link, and there is no daemon to start. ``benchmarks/runtime.py`` measures the round trip a
runtime pays across it (``bus_p50_ms``/``bus_p99_ms``: a stimulus published, answered by a
second process, the answer received). Multicast
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
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import zenoh

from emily.core.closing import Closing
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


class ZenohBus(Closing):
    """One Zenoh peer session: publish bytes on a key, subscribe with a callback."""

    def __init__(self, endpoint: str, role: Role) -> None:
        self.endpoint = endpoint
        self._session = zenoh.open(zenoh_config(endpoint, role))
        self._publishers: dict[str, zenoh.Publisher] = {}
        self._subscribers: list[zenoh.Subscriber[None]] = []

    def _publisher(self, key: str) -> zenoh.Publisher:
        publisher = self._publishers.get(key)
        if publisher is None:
            # BLOCK, not Zenoh's default DROP: a message the bus accepted must arrive (the
            # counts-match contract); the outbox, not a drop, absorbs a missing subscriber.
            publisher = self._session.declare_publisher(
                key, congestion_control=zenoh.CongestionControl.BLOCK
            )
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


STIMULI_KEY = "emily/stimuli"
"""Stimuli for a runtime: JSON lines (one or more stimuli per message) on ``emily/stimuli/in``."""
STIMULI_END_KEY = "emily/stimuli/end"
"""A message here (payload: the count published) ends a bus stimulus stream."""
ANSWERS_KEY = "emily/answers"
"""The runtime's answers, one ``Answer`` JSON per message (or a JSON array for a batch)."""
HYPOTHESES_KEY = "emily/hypotheses"
"""Cognition's hypothesis batches, one ``HypothesisBatch`` JSON per message."""


class Regulated(Protocol):
    """The part of the regulator the bus tells about its health."""

    def report_dependency(self, name: str, up: bool) -> None: ...


class RuntimeBus:
    """The runtime's side of the bus: answers and hypotheses out, through outboxes.

    Publishing never blocks the reflex path: while nobody subscribes, messages queue in
    ``ResilientPublisher`` outboxes and a poller thread flushes them when a subscriber appears.
    Health: the bus counts as *down* (``report_dependency("bus", False)``, ``emily_bus_up`` 0)
    when the answer subscriber it had is gone; before the first subscriber ever appears the
    runtime is simply not observed yet, which is not a fault (``emily run --bus`` with nobody
    listening must still let cognition run).
    """

    def __init__(
        self,
        bus: ZenohBus,
        *,
        regulator: Regulated | None = None,
        on_health: Callable[[bool], None] | None = None,
        poll_s: float = 0.05,
        capacity: int = 100_000,
    ) -> None:
        self.bus = bus
        self.answers = ResilientPublisher(bus, ANSWERS_KEY, capacity)
        self.hypotheses = ResilientPublisher(bus, HYPOTHESES_KEY, capacity)
        self._regulator = regulator
        self._on_health = on_health
        self._seen_peer = False
        self._down = False
        self._stop = threading.Event()
        self._poll_s = poll_s
        self._thread = threading.Thread(target=self._poll, name="emily-bus", daemon=True)
        self._thread.start()

    def publish_answer(self, payload: bytes) -> None:
        self.answers.publish(payload)

    def publish_hypotheses(self, payload: bytes) -> None:
        self.hypotheses.publish(payload)

    @property
    def degraded(self) -> bool:
        """True while answers are queued because their subscriber is gone."""
        return self._down

    @property
    def pending(self) -> int:
        return self.answers.pending + self.hypotheses.pending

    def check(self) -> None:
        """Flush what can be flushed and update health (the poller calls this)."""
        self.answers.poll()
        self.hypotheses.poll()
        up = not self.answers.degraded
        self._seen_peer = self._seen_peer or up
        down = self._seen_peer and not up
        if down != self._down:
            self._down = down
            if self._regulator is not None:
                self._regulator.report_dependency("bus", not down)
        if self._on_health is not None:
            self._on_health(up)

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.check()
            except Exception:  # a closing session must not kill the poller with a traceback
                continue

    def drain(self, attempts: int = 200) -> bool:
        """Flush the outboxes while a subscriber is there; ``True`` when nothing is left."""
        for _ in range(attempts):
            self.check()
            if not self.pending:
                return True
            self._stop.wait(self._poll_s)
        return not self.pending

    def close(self) -> None:
        """Stop the poller (the ``ZenohBus`` belongs to whoever opened it)."""
        self._stop.set()
        self._thread.join(5.0)


class BusStimuli:
    """An iterator of stimuli that arrive on the bus, ending at an end marker or ``limit``.

    Parsing happens on Zenoh's thread (a bad line is counted and skipped: another process's
    bad input must not stop this runtime); the iterator hands stimuli to the caller's thread.
    """

    def __init__(
        self,
        bus: ZenohBus,
        *,
        limit: int | None = None,
        idle_timeout_s: float | None = None,
    ) -> None:
        from emily.runtime.stimuli import parse_stimuli

        self._parse = parse_stimuli
        self._queue: queue.Queue[Any] = queue.Queue()
        self._limit = limit
        self._idle = idle_timeout_s
        self.received = 0
        self.rejected = 0
        self.last_error: str | None = None
        self.expected: int | None = None
        bus.subscribe(f"{STIMULI_KEY}/**", self._on_message)

    def _on_message(self, key: str, payload: bytes) -> None:
        if key == STIMULI_END_KEY:
            self._queue.put(_End(int(payload or b"0")))
            return
        try:
            stimuli = self._parse(payload.decode("utf-8"), f"bus:{key}")
        except Exception as exc:  # InputError or bad UTF-8: counted, reported, skipped
            self.rejected += 1
            self.last_error = str(exc)
            return
        for stimulus in stimuli:
            self._queue.put(stimulus)

    def __iter__(self) -> Iterator[Any]:
        yielded = 0
        while self._limit is None or yielded < self._limit:
            try:
                item = self._queue.get(timeout=self._idle)
            except queue.Empty:
                return
            if isinstance(item, _End):  # messages arrive in order: nothing is left behind it
                self.expected = item.count
                return
            self.received += 1
            yielded += 1
            yield item


@dataclass(frozen=True)
class _End:
    count: int
