"""Chaos: the embedded FalkorDB is killed mid-run; answers keep coming, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from emily.core.settings import load_settings
from emily.memory._falkor_server import EmbeddedFalkorDB, kill_server_hard
from emily.memory.episodic import open_episodic
from emily.nervous_system import NervousState
from emily.runtime.builder import build_runtime, demo_schema
from emily.runtime.stimuli import demo_dataset, demo_stream


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return True
        pause.wait(0.05)
    return condition()


@pytest.mark.slow
def test_graph_store_killed_mid_run_then_restarted_loses_no_episode() -> None:
    settings = load_settings()
    dataset = demo_dataset()
    runtime = build_runtime(settings, demo_schema(dataset), journal=True)
    journal = runtime.journal
    assert journal is not None
    stimuli = list(demo_stream(dataset, seed=5, limit=900))
    restarted: EmbeddedFalkorDB | None = None
    closed = False
    try:
        answered = [runtime.handle(s) for s in stimuli[:300]]
        assert journal.flush(120), journal.status()

        assert kill_server_hard(settings.path("falkordb")) is not None
        answered += [runtime.handle(s) for s in stimuli[300:600]]  # no exception, all answered
        assert _wait_for(lambda: not journal.up), journal.status()
        assert "episodic" in runtime.regulator.status().dependencies_down
        assert runtime.regulator.state is NervousState.FALLBACK
        answered += runtime.handle_many(stimuli[600:750])
        assert journal.status().pending > 0

        restarted = EmbeddedFalkorDB(settings.path("falkordb"))
        restarted.start()
        answered += [runtime.handle(s) for s in stimuli[750:]]
        assert journal.flush(120), journal.status()
        assert journal.up
        assert "episodic" not in runtime.regulator.status().dependencies_down
        status = journal.status()
        assert status.written == len(answered) == len(stimuli)
        assert status.replayed > 0
        assert status.pending == 0
        closed = True
        runtime.close()
        episodic = open_episodic(settings)  # reuses the restarted server
        try:
            assert episodic.count() == len(stimuli)  # every answer once: none lost, none doubled
            ids = {e.id for e in episodic.recent(len(stimuli) + 10)}
            assert len(ids) == len(stimuli)
        finally:
            episodic.close()
    finally:
        if not closed:  # a failure above: still finish the runtime's threads
            runtime.close()
        if restarted is not None:  # never leak the server into the next test
            restarted.stop()
