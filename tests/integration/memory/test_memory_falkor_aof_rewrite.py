"""The embedded FalkorDB folds its append-only log into an RDB base, so a restart replays little.

Issue 16 item 11: a 16 MB AOF of graph queries (20,500 episodes) took over 120 s to replay at
start. Redis 7+ keeps a multi-part AOF (``appendonlydir``: a base, increments and a manifest);
after a rewrite the base is an RDB image (it starts with ``REDIS``) holding every episode so far.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from emily.core import system_clock
from emily.core.settings import EmilySettings
from emily.memory import open_episodic
from emily.memory._falkor_server import EmbeddedFalkorDB
from emily.memory.models import Episode

T0 = datetime(2026, 1, 1, tzinfo=UTC)
N = 3_000  # about 1.3 MB of graph queries in the log: past the rewrite threshold
LOAD_TIMEOUT_S = 3.0  # the server binds its socket sooner; a replay of N_SLOW takes longer
N_SLOW = 5_000  # replayed from increments only: about 17 s on a loaded 2-core machine


def _episodes(start: int, n: int) -> list[Episode]:
    return [
        Episode(
            id=f"ep{i:06d}",
            timestamp=T0 + timedelta(seconds=i),
            stimulus=f"stimulus {i % 50}",
            response=f"response {i % 3}",
            confirmed=i % 2 == 0,
            confidence=0.5,
            hypotheses=(f"hypothesis {i % 7}",),
        )
        for i in range(start, start + n)
    ]


def _base(folder: Path) -> tuple[int, Path]:
    """Sequence number and path of the base file named in the AOF manifest."""
    aof = folder / "appendonlydir"
    for line in (aof / "appendonly.aof.manifest").read_text().splitlines():
        fields = line.split()  # file NAME seq N type b|h|i [startoffset N ...]
        entry = dict(zip(fields[::2], fields[1::2], strict=True))
        if entry["type"] == "b":
            return int(entry["seq"]), aof / entry["file"]
    raise AssertionError("no base file in the AOF manifest")


def _wait_for_rewrite(folder: Path, timeout_s: float = 180.0) -> Path:
    """The base file once a rewrite has replaced the initial (empty) one; polls, no sleep guess."""
    clock = system_clock()
    deadline = clock.monotonic() + timeout_s
    while clock.monotonic() < deadline:
        seq, base = _base(folder)
        if seq >= 2:
            return base
        clock.sleep(0.1)
    raise AssertionError(f"no AOF rewrite within {timeout_s} s: {_base(folder)}")


def _write(settings: EmilySettings, *, auto_rewrite: bool = True, n: int = N) -> None:
    memory = open_episodic(settings)
    try:
        if not auto_rewrite:  # a log as an older Emily left it: every write only in increments
            memory._client.connection.config_set("auto-aof-rewrite-percentage", 0)
        for start in range(0, n, 100):
            memory.record_episodes(_episodes(start, 100))
        if auto_rewrite:
            _wait_for_rewrite(settings.path("falkordb"))
    finally:
        memory.close()


def _reopen_and_count(settings: EmilySettings) -> int:
    memory = open_episodic(settings)
    try:
        return memory.count()
    finally:
        memory.close()


def test_log_is_rewritten_to_an_rdb_base_and_a_restart_loads_everything(
    settings: EmilySettings,
) -> None:
    _write(settings)
    base = _wait_for_rewrite(settings.path("falkordb"))
    assert base.read_bytes()[:5] == b"REDIS"
    assert _reopen_and_count(settings) == N


def test_a_large_log_from_before_is_rewritten_after_start(settings: EmilySettings) -> None:
    _write(settings, auto_rewrite=False)
    seq, _ = _base(settings.path("falkordb"))
    assert seq == 1  # everything is still in the increments
    memory = open_episodic(settings)  # replays this once, then folds it into a base
    try:
        base = _wait_for_rewrite(settings.path("falkordb"))
        assert memory.count() == N
    finally:
        memory.close()
    assert base.read_bytes()[:5] == b"REDIS"
    assert _reopen_and_count(settings) == N


def test_rewrite_keeps_every_write_fsynced(settings: EmilySettings) -> None:
    """ADR 0007 stays: ``appendfsync always``, with the RDB preamble on."""
    memory = open_episodic(settings)
    try:
        conn: redis.Redis = memory._client.connection
        assert conn.config_get("appendfsync")["appendfsync"] == "always"
        assert conn.config_get("aof-use-rdb-preamble")["aof-use-rdb-preamble"] == "yes"
    finally:
        memory.close()


def test_a_slow_first_replay_is_waited_for_not_killed(settings: EmilySettings) -> None:
    """A server still replaying a large log answers LOADING: progress, so the start waits.

    Before, a start that outlived its timeout stopped the server and the next start replayed
    the whole log again, so a log too slow to replay in time could never load.
    """
    _write(settings, auto_rewrite=False, n=N_SLOW)
    server = EmbeddedFalkorDB(settings.path("falkordb"))
    server.start(timeout_s=LOAD_TIMEOUT_S)
    try:
        memory = open_episodic(settings)
        try:
            assert memory.count() == N_SLOW
        finally:
            memory.close()
    finally:
        server.stop()


def test_pending_episodes_survive_a_restart_from_the_rdb_base(settings: EmilySettings) -> None:
    """Consolidation finds its work after a restart that loads the graph from the RDB base.

    FalkorDB's range index on a boolean property answers nothing after an RDB load (the 10k
    recovery benchmark found `emily sleep` had "nothing to consolidate" in a home of 10,000
    unconsolidated episodes), so the store must not depend on one.
    """
    far = T0 + timedelta(days=365)
    _write(settings)
    assert _base(settings.path("falkordb"))[1].read_bytes()[:5] == b"REDIS"
    memory = open_episodic(settings)
    try:
        pending = memory.pending(far)
        assert len(pending) == N
        memory.mark_consolidated([episode_id for episode_id, _ in pending[:1_000]])
        memory._client.connection.bgrewriteaof()
    finally:
        memory.close()
    memory = open_episodic(settings)
    try:
        assert len(memory.pending(far)) == N - 1_000
        assert memory.count(consolidated=True) == 1_000
        assert memory.count(consolidated=False) == N - 1_000
    finally:
        memory.close()
