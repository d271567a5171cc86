"""``emily run FILE`` → ``emily sleep`` → ``emily run FILE``: promoted reflexes land where the
runtime reads them, encoded with the home's own schema (issue 16, item 12).

A schema'd home answers from ``reflexes_<schema>_v<N>`` with a record encoder; sleep used to
write what it promoted into ``reflexive_memory`` with the text encoder (the stimulus's JSON as
characters), a table no schema'd runtime reads. Each command a process of its own (the
console script's entry point, forked warm by ``_support.cli.run_emily``) on one EMILY_HOME, the
embedded engines underneath.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

from _support.cli import run_emily
from emily.core.settings import load_settings
from emily.instinct import REFLEX_TABLE, LanceDBReflexStore, StoredReflex
from emily.runtime.reflex_models import table_for
from emily.runtime.schema_store import SchemaStore

pytestmark = pytest.mark.slow

DIM = "1024"


def _emily(*args: str) -> dict[str, Any]:
    """Run ``emily ARGS --json`` and return its last stdout line as JSON."""
    result = run_emily(
        [*args, "--json"],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "EMILY_HDC_DIM": DIM},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def test_sleep_promotes_into_the_home_schema_table_that_run_reads(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    with data.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["x", "y", "label"])
        writer.writeheader()
        writer.writerows(
            {"x": float(i), "y": float(i % 5), "label": f"c{i % 3}"}
            for _ in range(5)
            for i in range(20)
        )
    run = ("run", str(data), "--no-cognition", "--no-live")
    _emily(*run)  # fixes the schema, learns the 20 stimuli, journals 100 episodes
    confirmed = _emily(*run)  # hits now: every labelled hit is a confirmed episode
    assert confirmed["correct_hits"] > 0

    settings = load_settings()
    home = SchemaStore(settings.home).current()
    assert home is not None
    assert home.kind != "text"
    table = table_for(home, "exemplar")

    def rows() -> list[StoredReflex]:  # a fresh handle: another process wrote the table
        return LanceDBReflexStore(settings.path("lancedb"), int(DIM), table).load()

    forgotten = [r.id for r in rows()]
    LanceDBReflexStore(settings.path("lancedb"), int(DIM), table).delete(forgotten)
    assert rows() == []  # forgotten: only sleep can bring them back, from episodic memory

    slept = _emily("sleep")
    assert slept["reflexes"] == 20

    promoted = rows()
    assert len(promoted) == 20  # one reflex per stimulus, in the table the runtime answers from
    assert sorted(r.id for r in promoted) == sorted(forgotten)  # the runtime's own ids
    assert {r.stimulus for r in promoted} == {
        json.dumps({"x": float(i), "y": float(i % 5)}, sort_keys=True) for i in range(20)
    }
    text_table = LanceDBReflexStore(settings.path("lancedb"), int(DIM), REFLEX_TABLE)
    assert text_table.load() == []  # nothing encoded as JSON text in the text-only table

    again = _emily(*run, "--no-learn")  # starts, and answers from the promoted reflexes alone
    assert again["reflexes"] == 20
    assert again["learned"] == 0
    assert again["hits"] == confirmed["hits"]
    assert again["correct_hits"] == confirmed["correct_hits"]
    _emily("sleep")  # a second sleep re-promotes the same pairs: still one row per stimulus
    assert len(rows()) == 20
