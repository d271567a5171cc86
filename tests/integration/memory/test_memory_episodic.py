"""Episodic memory against the embedded FalkorDB: API, idempotency, persistence, crash restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emily.core import InputError
from emily.core.settings import EmilySettings, load_settings
from emily.memory import EpisodicMemory, StoreUnavailableError, open_episodic
from emily.memory._falkor_server import EmbeddedFalkorDB, kill_server_hard
from emily.memory.episodic import text_key
from emily.memory.models import Episode

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make(n: int, start: int = 0, **kw: object) -> list[Episode]:
    return [
        Episode(
            id=f"e{i:05d}",
            timestamp=T0 + timedelta(seconds=i),
            stimulus=f"stimulus {i % 5}",
            response=f"response {i % 2}",
            confirmed=i % 3 != 0,
            confidence=0.5,
            hypotheses=(f"hypothesis {i % 4}",),
            **kw,  # type: ignore[arg-type]
        )
        for i in range(start, start + n)
    ]


def test_record_is_idempotent_and_queries_answer(episodic: EpisodicMemory) -> None:
    batch = make(20)
    assert episodic.record_episodes(batch) == 20
    assert episodic.record_episodes(list(reversed(batch))) == 20  # a replay
    assert episodic.record_episodes([]) == 0
    assert episodic.count() == 20
    recent = episodic.recent(3)
    assert [e.id for e in recent] == ["e00019", "e00018", "e00017"]
    window = episodic.between(T0 + timedelta(seconds=5), T0 + timedelta(seconds=8))
    assert [e.id for e in window] == ["e00005", "e00006", "e00007"]
    got = episodic.get(["e00004", "missing"])
    assert len(got) == 1
    assert got[0].stimulus == "stimulus 4"
    assert got[0].hypotheses == ("hypothesis 0",)
    assert got[0].consolidated is False


def test_next_chain_and_neighbours(episodic: EpisodicMemory) -> None:
    episodic.record_episodes(make(3))
    episodic.record_episodes(make(2, start=3))  # linked to the previous batch's last episode
    nb = episodic.neighbours("Episode", "e00003")
    rel = {(n.relation, n.outgoing, n.key) for n in nb}
    assert ("NEXT", False, "e00002") in rel
    assert ("NEXT", True, "e00004") in rel
    assert ("TRIGGERED", False, text_key("stimulus 3")) in rel
    assert ("EXPLAINS", False, text_key("hypothesis 3")) in rel
    stim = episodic.neighbours("Stimulus", text_key("stimulus 0"))
    assert {n.key for n in stim} == {"e00000"}
    with pytest.raises(InputError, match="label must be one of"):
        episodic.neighbours("Nope", "x")


def test_pending_mark_and_confirmations(episodic: EpisodicMemory) -> None:
    episodic.record_episodes(make(12))
    pending = episodic.pending(T0 + timedelta(seconds=5))
    assert [p[0] for p in pending] == [f"e{i:05d}" for i in range(6)]
    episodic.mark_consolidated(["e00000", "e00001"])
    episodic.mark_consolidated(["e00000"])
    assert episodic.count(consolidated=True) == 2
    assert episodic.count(consolidated=False) == 10
    rows = episodic.confirmations([text_key("stimulus 1")])
    assert sum(r[4] for r in rows) == sum(1 for i in range(12) if i % 5 == 1 and i % 3 != 0)


def test_bad_input_is_refused_without_loss(episodic: EpisodicMemory) -> None:
    episodic.record_episodes(make(2))
    dup = make(1) + make(1)
    with pytest.raises(InputError, match="unique"):
        episodic.record_episodes(dup)
    with pytest.raises(InputError):
        episodic.recent(-1)
    with pytest.raises(InputError):
        episodic.between(datetime(2026, 1, 1), T0)  # naive
    with pytest.raises(InputError, match="no stimulus index"):
        episodic.similar("x")
    assert episodic.count() == 2


def test_data_survives_restart(settings: EmilySettings) -> None:
    memory = open_episodic(settings)
    memory.record_episodes(make(10))
    memory.close()
    again = open_episodic(settings)
    try:
        assert again.count() == 10
    finally:
        again.close()


def test_kill_9_of_server_and_client_loses_nothing(settings: EmilySettings) -> None:
    memory = open_episodic(settings)
    memory.record_episodes(make(50))
    folder = settings.path("falkordb")
    assert kill_server_hard(folder) is not None  # SIGKILL: no shutdown save
    assert not memory.ping()
    with pytest.raises(StoreUnavailableError):
        memory.record_episodes(make(1, start=50))
    # stale server.json and socket are left behind; the next start must not mind
    again = open_episodic(settings)
    memory.close()  # reaps the killed child; must not remove the new server's files
    try:
        assert again.count() == 50
        assert again.ping()
        assert (folder / "server.json").exists()
    finally:
        again.close()


def test_stale_state_file_and_garbage_do_not_block_start(settings: EmilySettings) -> None:
    folder = settings.path("falkordb")
    folder.mkdir(parents=True)
    (folder / "server.json").write_text('{"pid": 1, "unix_socket": "/nonexistent", "port": 0}')
    (folder / "falkordb.sock").write_text("stale")
    memory = open_episodic(settings)
    try:
        assert memory.ping()
    finally:
        memory.close()
    (folder / "server.json").write_text("not json")
    memory = open_episodic(settings)
    memory.close()


def test_a_second_process_reuses_a_live_server(settings: EmilySettings) -> None:
    first = open_episodic(settings)
    second = open_episodic(settings)  # reuses: does not own, so close leaves it running
    second.record_episodes(make(1))
    second.close()
    assert first.ping()
    assert first.count() == 1
    first.close()


def test_server_by_url_uses_the_same_code_path(tmp_path: Path) -> None:
    server = EmbeddedFalkorDB(tmp_path / "srv" / ("x" * 120))  # a socket path past the limit
    address = server.start()
    try:
        settings = load_settings(falkordb_url=f"unix://{address.unix_socket}")
        memory = open_episodic(settings)
        memory.record_episodes(make(3))
        assert memory.count() == 3
        memory.close()  # does not own the server
        assert EmbeddedFalkorDB(tmp_path / "srv" / ("x" * 120)).start().pid == address.pid
    finally:
        server.stop()


def test_unreachable_url_raises_store_unavailable() -> None:
    settings = load_settings(falkordb_url="redis://127.0.0.1:1")
    with pytest.raises(StoreUnavailableError):
        open_episodic(settings)


def test_embedded_server_refuses_bad_policy_and_reports_failed_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="appendfsync"):
        EmbeddedFalkorDB(tmp_path, appendfsync="sometimes")
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "appendonlydir").write_text("not a folder")  # redis cannot open its AOF dir
    with pytest.raises(StoreUnavailableError):
        EmbeddedFalkorDB(folder).start(timeout_s=10)


def test_orphaned_server_after_client_kill_is_reused(settings: EmilySettings) -> None:
    code = (
        "from emily.core.settings import load_settings;"
        "from emily.memory import open_episodic;"
        "import os, signal;"
        "m = open_episodic(load_settings());"
        "print('ok', flush=True);"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    env = {**os.environ, "EMILY_HOME": str(settings.home)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL
    memory = open_episodic(settings)
    try:
        assert memory.ping()
    finally:
        memory.close()
        kill_server_hard(settings.path("falkordb"))
