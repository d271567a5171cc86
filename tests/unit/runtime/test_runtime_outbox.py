from __future__ import annotations

import pytest

from emily.core import InputError
from emily.runtime.bus import ResilientPublisher


class FlakyLink:
    """A bus double whose peer can come and go and whose publish can fail."""

    def __init__(self) -> None:
        self.peers = 0
        self.fail = False
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, key: str, payload: bytes) -> None:
        if self.fail:
            raise ConnectionError("link broke")
        self.sent.append((key, payload))

    def has_subscribers(self, key: str) -> bool:
        if self.peers < 0:
            raise RuntimeError("session closed")
        return self.peers > 0


def test_full_outbox_drops_oldest_and_counts_it() -> None:
    link = FlakyLink()
    outbox = ResilientPublisher(link, "k", capacity=2)
    for payload in (b"a", b"b", b"c"):
        outbox.publish(payload)
    assert outbox.stats.dropped == 1
    link.peers = 1
    assert outbox.poll() == 2
    assert [p for _, p in link.sent] == [b"b", b"c"]


def test_failed_flush_keeps_messages_for_the_next_poll() -> None:
    link = FlakyLink()
    outbox = ResilientPublisher(link, "k")
    outbox.publish(b"a")
    link.peers, link.fail = 1, True
    assert outbox.poll() == 0
    assert outbox.pending == 1
    link.fail = False
    assert outbox.poll() == 1
    assert link.sent == [("k", b"a")]


def test_broken_session_counts_as_down() -> None:
    link = FlakyLink()
    link.peers = -1
    outbox = ResilientPublisher(link, "k")
    outbox.publish(b"a")
    assert outbox.degraded
    assert outbox.stats.degraded_transitions == [True]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(InputError, match="capacity must be >= 1"):
        ResilientPublisher(FlakyLink(), "k", capacity=0)
