"""``emily run --demo`` reports cognition's hypotheses and draws them (issue #18 item 4).

Real engines throughout (LanceDB, the journal's graph writer, cognition's sampler process).
No wall-clock time and no order of events that depends on the machine's speed is judged: on a
loaded machine cognition's process may start after a short demo has streamed (`make test` runs
beside busy loops). How early the first batch comes is a figure, reported by ``--json``
(``cognition.first_batch``) and quoted with its conditions, not an assertion.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from emily.cli.app import app

runner = CliRunner()
DEMO_LIMIT = 3_000
"""Stimuli of the demo run here: 12 s at the demo's 250/s."""


def test_the_summary_says_when_cognitions_first_hypotheses_arrived() -> None:
    result = runner.invoke(
        app, ["run", "--demo", "--limit", str(DEMO_LIMIT), "--json", "--no-journal"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    cognition = summary["cognition"]
    # close() answers a window gathered while the sampler warmed up: a batch always comes
    assert cognition["batches"] >= 1, summary
    assert cognition["hypotheses"], cognition
    first = cognition["first_batch"]
    if first is not None:  # None: it came after the stream ended (a loaded machine)
        assert 0 < first["stimuli"] <= summary["n"] == DEMO_LIMIT, first
        assert 0 < first["stream_s"] <= summary["stream_s"]
        assert first["since_start_s"] == pytest.approx(
            summary["startup_s"] + first["stream_s"], abs=0.01
        )
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
    # a hypothesis as edge glyphs, or (cognition's process still starting on a loaded machine)
    # a line that says cognition is at work on the misses: never an empty panel
    glyph = re.search(r"\d+%\s+\S+→\S+|∅ \(independent\)", last)
    assert glyph or re.search(r"cognition is thinking about [\d,]+ misses", last), last
    assert re.search(
        r"600 stimuli from demo in [\d.]+ s \([\d,]+/s\) after [\d.]+ s of start-up, "
        r"then [\d.]+ s to finish",
        text,
    )


def test_a_first_batch_at_the_streams_last_instant_is_not_after_it() -> None:
    """The first batch can land as the stream ends (checked once more after the last stimulus):
    its reported time must not round past the stream's own (a loaded run saw 15.631 > 15.6309)."""
    from emily.cli.run import _FirstBatch

    runtime = SimpleNamespace(tiers={"cognition": 1})  # cognition has answered
    stream_s = 15.630946220000624
    first = _FirstBatch()
    first.check(runtime, 600, stream_s)  # type: ignore[arg-type]
    reported = first.as_dict(startup_s=2.5)
    assert reported is not None
    assert 0 < reported["stream_s"] <= stream_s
    assert reported["since_start_s"] == pytest.approx(2.5 + stream_s)
