"""Sleep reports progress from its durable steps: one figure per step, and plain lines when piped.

Issue 16 item 11: piped, ``emily sleep`` printed nothing until it ended; progress polled the graph
(two full counts, five times a second) instead of the workflow's own step records.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from emily.cli.memory import sleep
from emily.core.settings import EmilySettings
from emily.memory import Episode, open_episodic, open_memory
from emily.memory.embedding import HashTextEmbedder
from emily.memory.semantic import V1


def _record(settings: EmilySettings, n: int) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    episodic = open_episodic(settings)
    try:
        episodic.record_episodes(
            Episode(
                id=f"p{i}",
                timestamp=t0 + timedelta(seconds=i),
                stimulus=f"stimulus {i % 6}",
                response="r",
                confirmed=True,
            )
            for i in range(n)
        )
    finally:
        episodic.close()


def test_progress_rises_once_per_step_to_the_total(settings: EmilySettings) -> None:
    _record(settings, 24)  # 6 stimuli x 4 episodes; chunks of 8 episodes: 3 steps
    seen: list[tuple[int, int]] = []
    with open_memory(settings, embedders={V1: HashTextEmbedder(name=V1)}) as memory:
        report = memory.consolidation(chunk_episodes=8, poll_s=0.01).run(
            lambda done, total: seen.append((done, total))
        )
    assert report.episodes == 24
    assert seen[-1] == (24, 24)
    done = sorted({d for d, t in seen if t == 24})
    assert set(done) <= {0, 8, 16, 24}  # only whole steps: figures come from step records
    assert all(t in (0, 24) for _, t in seen)


def _version() -> None:
    """A second command, so Typer keeps ``sleep`` a subcommand."""


@pytest.mark.slow
def test_piped_sleep_prints_a_line_per_change(settings: EmilySettings) -> None:
    _record(settings, 8)
    app = typer.Typer()
    app.command("sleep")(sleep)
    app.command("version")(_version)
    result = CliRunner().invoke(app, ["sleep"])
    assert result.exit_code == 0, result.output
    # (the model's loading bar, on stderr, shares CliRunner's output without a newline)
    lines = re.findall(r"sleep: [\d,]+/[\d,]+ episodes consolidated", result.output)
    assert lines[-1] == "sleep: 8/8 episodes consolidated", result.output
    assert len(lines) == len(set(lines))  # a line per change, not per poll
