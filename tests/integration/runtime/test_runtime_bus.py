"""The bus over real Zenoh peer sessions on loopback: delivery, degraded mode and catch-up."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from _support.ports import free_endpoint
from emily.core import InputError, ManualClock
from emily.runtime.bus import ResilientPublisher, ZenohBus


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll with a real (not manual) wait: Zenoh's threads need wall time to link peers."""
    done = threading.Event()
    clock = ManualClock()
    while clock.monotonic() < timeout_s:
        if condition():
            return True
        done.wait(0.02)
        clock.advance(0.02)
    return condition()


def test_two_peers_exchange_messages_without_a_router() -> None:
    endpoint = free_endpoint()
    received: list[tuple[str, bytes]] = []
    with ZenohBus(endpoint, "listen") as cognition, ZenohBus(endpoint, "connect") as instinct:
        cognition.subscribe(
            "emily/stimuli/**", lambda key, payload: received.append((key, payload))
        )
        assert _wait_for(lambda: instinct.peer_count() == 1)
        assert _wait_for(
            lambda: instinct.publish("emily/stimuli/a", b"x") is None and bool(received), 5
        )
        assert received[0] == ("emily/stimuli/a", b"x")


def test_outbox_queues_while_no_peer_and_catches_up_in_order() -> None:
    endpoint = free_endpoint()
    received: list[bytes] = []
    with ZenohBus(endpoint, "listen") as producer:
        outbox = ResilientPublisher(producer, "emily/hypotheses/req")
        for i in range(5):
            outbox.publish(str(i).encode())
        assert outbox.degraded
        assert outbox.pending == 5
        assert outbox.stats.sent == 0

        with ZenohBus(endpoint, "connect") as consumer:
            consumer.subscribe(
                "emily/hypotheses/**", lambda _key, payload: received.append(payload)
            )
            assert _wait_for(lambda: producer.has_subscribers("emily/hypotheses/req"))
            assert outbox.poll() == 5
            assert not outbox.degraded
            outbox.publish(b"5")
            assert _wait_for(lambda: len(received) == 6)
    assert received == [str(i).encode() for i in range(6)]
    assert outbox.stats.flushed == 5
    assert outbox.stats.dropped == 0


def test_non_loopback_endpoints_are_refused() -> None:
    with pytest.raises(InputError, match="not on loopback"):
        ZenohBus("tcp/0.0.0.0:7447", "listen")
