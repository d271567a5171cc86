"""``emily run --demo`` shows cognition's hypotheses while the demo streams (issue #18 item 4).

Real engines throughout (LanceDB, the journal's graph writer, cognition's sampler process).
What is judged is the order of events, never a wall-clock time: the first hypothesis batch
must land while stimuli are still streaming (before the last of the demo's stimuli), which is
what "a hypothesis within seconds of start" means for a paced demo of a few seconds.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from emily.cli.app import app

runner = CliRunner()
DEMO_LIMIT = 3_000
"""Stimuli of the demo run here: 12 s at the demo's 250/s, room on a loaded machine for the
sampler's process to start; the default demo (1,500, 6 s) is what `make run` shows."""


def test_demo_first_hypotheses_arrive_while_the_demo_streams() -> None:
    result = runner.invoke(
        app, ["run", "--demo", "--limit", str(DEMO_LIMIT), "--json", "--no-journal"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    cognition = summary["cognition"]
    assert cognition["batches"] >= 1, summary
    first = cognition["first_batch"]
    assert first is not None, summary
    assert first["stimuli"] < DEMO_LIMIT, first  # it arrived before the stream ended
    assert 0 < first["stream_s"] < summary["stream_s"]
    assert first["since_start_s"] == pytest.approx(
        summary["startup_s"] + first["stream_s"], abs=0.01
    )
    assert cognition["hypotheses"], cognition
    # throughput counts streaming only: the stream's seconds, not those of the shutdown
    assert summary["stream_s"] <= summary["elapsed_s"]
    assert summary["per_second"] == summary["n"] / summary["stream_s"]


def test_the_live_view_says_what_loads_then_draws_progress_and_hypotheses() -> None:
    """In a terminal (forced here) the first thing drawn is the loading view, the last frame
    has the full progress bar and a hypothesis as edge glyphs, and the summary splits the
    stream's time from the finish."""
    result = runner.invoke(
        app,
        ["run", "--demo", "--limit", "600", "--rate", "300", "--no-journal"],
        env={"FORCE_COLOR": "1", "COLUMNS": "120", "LINES": "60"},
    )
    assert result.exit_code == 0, result.output
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.output)
    loading = text.find("loading settings")
    assert loading != -1, text[-3000:]
    assert "opening reflex memory (LanceDB)" in text
    assert "cognition's sampler process" in text
    assert loading < text.find("progress")  # the loading view comes before the first frame
    last = text[text.rfind("Emily Sovereign — triune runtime") :]
    assert "100%" in last
    assert "600/600" in last
    assert re.search(r"\d+%\s+\S+→\S+|∅ \(independent\)", last), last  # a hypothesis glyph
    assert "cognition is thinking" not in last
    assert re.search(
        r"600 stimuli from demo in [\d.]+ s \([\d,]+/s\) after [\d.]+ s of start-up, "
        r"then [\d.]+ s to finish",
        text,
    )
