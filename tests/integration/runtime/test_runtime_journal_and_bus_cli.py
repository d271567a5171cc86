"""``emily run`` journals episodes by default and takes stimuli from ``emily publish`` (Zenoh)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from _support.ports import free_endpoint, free_port
from emily.core.settings import load_settings
from emily.memory.episodic import open_episodic
from emily.runtime.bus import ANSWERS_KEY, ZenohBus

runner = CliRunner()
FAST = ["--no-cognition", "--no-live", "--rate", "100000"]
CLI = "import typer\nfrom emily.cli.run import register_run_commands\napp = typer.Typer()\n" \
      "register_run_commands(app)\napp()\n"  # fmt: skip


def _app() -> typer.Typer:
    from emily.cli.run import register_run_commands

    app = typer.Typer()
    register_run_commands(app)
    return app


def _episodes() -> int:
    episodic = open_episodic(load_settings())
    try:
        return episodic.count()
    finally:
        episodic.close()


def test_run_journals_every_answer_as_one_episode() -> None:
    result = runner.invoke(_app(), ["run", "--demo", "--limit", "240", *FAST])
    assert result.exit_code == 0, result.output
    assert "journal: 240 episodes written" in result.output
    assert "journal " in result.output  # the live/summary table's journal row
    assert _episodes() == 240
    again = runner.invoke(_app(), ["run", "--demo", "--limit", "60", *FAST])
    assert again.exit_code == 0, again.output
    assert _episodes() == 300  # a second run adds its own episodes, never overwrites


def test_no_journal_writes_no_episode(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["run", "--demo", "--limit", "50", "--no-journal", *FAST])
    assert result.exit_code == 0, result.output
    assert "journal:" not in result.output
    assert not (tmp_path / "emily-home" / "journal").exists()


def _connected(endpoint: str) -> ZenohBus:
    """A peer linked to the runtime (which may still be starting: retry until it listens)."""
    pause = threading.Event()
    for _ in range(60):
        peer = ZenohBus(endpoint, "connect")
        for _ in range(20):
            if peer.peer_count():
                return peer
            pause.wait(0.05)
        peer.close()
    raise AssertionError(f"no runtime listening on {endpoint}")


@pytest.mark.slow
def test_publish_feeds_a_bus_runtime_that_answers_on_the_bus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = free_endpoint()
    monkeypatch.setenv("EMILY_ZENOH_ENDPOINT", endpoint)
    source = tmp_path / "stimuli.jsonl"
    lines = [{"id": f"s{i}", "text": f"stove {i % 3}", "label": "withdraw"} for i in range(120)]
    source.write_text("\n".join(json.dumps(line) for line in lines))
    runtime = subprocess.Popen(
        [sys.executable, "-c", CLI, "run", "--bus-in", "--bus", "--no-cognition", "--no-live"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    answers: list[bytes] = []
    try:
        with _connected(endpoint) as listener:
            listener.subscribe(ANSWERS_KEY, lambda _key, payload: answers.append(payload))
            result = runner.invoke(_app(), ["publish", str(source)])
            assert result.exit_code == 0, result.output
            assert "published 120 stimuli" in result.output
            output, _ = runtime.communicate(timeout=120)
    finally:
        if runtime.poll() is None:
            runtime.kill()
    assert runtime.returncode == 0, output
    assert "120 stimuli from the bus" in output
    assert "journal: 120 episodes written" in output
    assert sorted(json.loads(a)["stimulus_id"] for a in answers) == sorted(
        f"s{i}" for i in range(120)
    )


def test_publish_refuses_a_bad_file_before_sending(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": "a", "text": "ok"}\n{"id": ""}\n')
    result = runner.invoke(_app(), ["publish", str(source), "--wait", "0"])
    assert result.exit_code != 0
    assert "bad.jsonl:2" in str(result.exception)


def test_unreachable_graph_store_exits_3_and_the_next_run_replays_the_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16, item 11: nothing is lost, but the run does not pretend it finished its job."""
    monkeypatch.setenv("EMILY_FALKORDB_URL", f"redis://127.0.0.1:{free_port()}")
    held = runner.invoke(_app(), ["run", "--demo", "--limit", "120", *FAST, "--json"])
    assert held.exit_code == 3, held.output
    said = " ".join(held.output.split())  # Rich wraps at 80 columns, where depends on tmp_path
    assert "120 episodes held in the outbox" in said
    assert "the graph store is unreachable" in said
    assert "the next `emily run` replays them" in said
    summary = json.loads(held.output.strip().splitlines()[-1])
    assert summary["journal"] == {"written": 0, "held": 120}

    monkeypatch.delenv("EMILY_FALKORDB_URL")  # the store is back (the embedded one)
    again = runner.invoke(_app(), ["run", "--demo", "--limit", "30", *FAST])
    assert again.exit_code == 0, again.output
    assert "journal: 150 episodes written" in again.output  # 120 replayed + 30 of its own
    assert "held in the outbox" not in again.output
    assert _episodes() == 150
