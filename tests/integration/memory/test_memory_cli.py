"""``emily migrate|sleep|ingest`` through Typer, on a fresh EMILY_HOME."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from emily.cli.memory import ingest, migrate_app, sleep
from emily.core.settings import load_settings
from emily.memory import Episode, open_episodic
from emily.memory.embedding import SentenceEmbedder

app = typer.Typer()
app.add_typer(migrate_app, name="migrate")
app.command("sleep")(sleep)
app.command("ingest")(ingest)
runner = CliRunner()


def test_migrate_commands(tmp_path: Path) -> None:
    assert "001" in runner.invoke(app, ["migrate", "status"]).output
    up = runner.invoke(app, ["migrate", "up", "--target", "001"])
    assert up.exit_code == 0, up.output
    assert "applied: 001" in up.output
    assert "up to date" in runner.invoke(app, ["migrate", "up", "--target", "001"]).output
    verify = runner.invoke(app, ["migrate", "verify"])
    assert verify.exit_code == 0
    assert "✓ 001" in verify.output
    assert "rolled back: 001" in runner.invoke(app, ["migrate", "down"]).output
    assert "nothing" in runner.invoke(app, ["migrate", "down"]).output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "001_x.py").write_text(
        "def up(c): pass\ndef down(c): pass\ndef verify(c): return c.settings.seed == 1\n"
    )
    runner.invoke(app, ["migrate", "up", "--dir", str(bad)])
    assert runner.invoke(app, ["migrate", "verify", "--dir", str(bad)]).exit_code == 0


@pytest.mark.slow
def test_sleep_and_ingest(tmp_path: Path, sentence_embedder: SentenceEmbedder) -> None:
    memory = open_episodic(load_settings())
    t = datetime(2026, 1, 1, tzinfo=UTC)
    memory.record_episodes(
        [
            Episode(
                id=f"e{i}",
                timestamp=t.replace(second=i),
                stimulus="s",
                response="r",
                confirmed=True,
            )
            for i in range(4)
        ]
    )
    memory.close()
    result = runner.invoke(app, ["sleep", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["episodes"] == 4
    assert report["reflexes"] == 1
    assert "consolidated 0 episodes" in runner.invoke(app, ["sleep"]).output
    data = tmp_path / "data.jsonl"
    data.write_text('{"id": "a", "text": "hello", "values": [0.1, 0.2]}\n{"text": "world"}\n')
    out = runner.invoke(app, ["ingest", str(data), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1]) == {"records": 2, "numeric": 1}
    assert "ingested 2 records" in runner.invoke(app, ["ingest", str(data)]).output
