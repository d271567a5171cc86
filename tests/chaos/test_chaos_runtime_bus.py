"""Chaos: the bus peer that listens to answers goes away mid-run and comes back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest

from _support.ports import free_endpoint
from emily.core.settings import load_settings
from emily.nervous_system import NervousState
from emily.runtime.builder import build_runtime, demo_schema
from emily.runtime.bus import ANSWERS_KEY, ZenohBus
from emily.runtime.stimuli import demo_dataset, demo_stream


def _wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return True
        pause.wait(0.02)
    return condition()


def _listener(endpoint: str, received: list[bytes]) -> ZenohBus:
    peer = ZenohBus(endpoint, "connect")
    peer.subscribe(ANSWERS_KEY, lambda _key, payload: received.append(payload))
    return peer


@pytest.mark.slow
def test_answers_keep_coming_while_the_peer_is_gone_and_all_arrive_after() -> None:
    endpoint = free_endpoint()
    dataset = demo_dataset()
    stimuli = list(demo_stream(dataset, seed=9, limit=900))
    first: list[bytes] = []
    second: list[bytes] = []
    with ZenohBus(endpoint, "listen") as session:
        runtime = build_runtime(load_settings(), demo_schema(dataset), bus=session)
        bus = runtime.bus
        assert bus is not None
        try:
            peer = _listener(endpoint, first)
            assert _wait_for(lambda: session.has_subscribers(ANSWERS_KEY))
            answered = [runtime.handle(s) for s in stimuli[:300]]
            assert _wait_for(lambda: len(first) == 300), len(first)

            peer.close()  # the peer goes away mid-run
            assert _wait_for(lambda: bus.degraded)
            assert "bus" in runtime.regulator.status().dependencies_down
            assert runtime.regulator.state is NervousState.FALLBACK
            answered += [runtime.handle(s) for s in stimuli[300:600]]  # still answering
            assert bus.answers.pending == 300

            peer = _listener(endpoint, second)  # it comes back
            assert _wait_for(lambda: not bus.degraded and bus.pending == 0)
            answered += runtime.handle_many(stimuli[600:])
            assert _wait_for(lambda: len(second) == 600), len(second)
            assert "bus" not in runtime.regulator.status().dependencies_down
            peer.close()
        finally:
            runtime.close()
    stats = bus.answers.stats
    assert len(answered) == len(stimuli)
    assert stats.sent + stats.flushed == len(first) + len(second) == len(stimuli)
    assert stats.dropped == 0
    ids = [a.stimulus_id for a in answered]
    assert [json.loads(p)["stimulus_id"] for p in first + second] == ids  # in order, no dupes
