"""The terminal view draws from a snapshot: each piece is a pure function, pinned here.

Issue #18 item 4: progress with ETA when the length is known, sparklines for throughput and hit
rate, the oscillator as a strip, hypotheses as edge glyphs with their mass, a journal row that
says it is catching up, a loading view that says what is loading, and a summary whose
throughput leaves shutdown out. No runtime is started: the frames are built from snapshots.
"""

from __future__ import annotations

import math
import re

import pytest
from rich.console import Console

from emily.runtime.cognition_worker import Hypothesis, HypothesisBatch
from emily.runtime.display import (
    SPARK,
    History,
    JournalView,
    RunSnapshot,
    RunTiming,
    Step,
    abbreviate,
    duration_text,
    edge_glyphs,
    eta_s,
    gain_at,
    journal_text,
    loading_view,
    mass_bar,
    oscillator_strip,
    parse_edges,
    progress_text,
    render_snapshot,
    sparkline,
)
from emily.runtime.journal import JournalStatus


def _text(renderable: object, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _journal(written: int, pending: int, *, up: bool = True) -> JournalView:
    status = JournalStatus(
        up=up, written=written, pending=pending, spilled=0, replayed=0, failures=0,
        last_error=None,
    )  # fmt: skip
    return JournalView(status, 3.0)


def _batch(*pairs: tuple[str, float]) -> HypothesisBatch:
    return HypothesisBatch(
        stimulus_ids=tuple(f"s{i}" for i in range(8)),
        hypotheses=tuple(Hypothesis(description=d, share=s, log_reward=0.0) for d, s in pairs),
        diversity=0.4,
        mode_collapse=False,
        latency_s=0.8,
    )


# ---------------------------------------------------------------- sparklines and progress


def test_sparkline_scales_between_the_bounds() -> None:
    assert sparkline([0.0, 0.5, 1.0], low=0.0, high=1.0) == SPARK[0] + SPARK[4] + SPARK[-1]
    assert sparkline([2.0, 4.0]) == SPARK[0] + SPARK[-1]  # own range by default
    assert sparkline([3.0, 3.0, 3.0]) == SPARK[0] * 3  # a flat series sits on the floor
    assert sparkline([-1.0, 9.0], low=0.0, high=1.0) == SPARK[0] + SPARK[-1]  # clamped
    assert sparkline([]) == ""


def test_history_gives_rates_per_interval_not_cumulative() -> None:
    history = History(size=3)
    history.add(0.0, 0, 0, 0)
    history.add(1.0, 100, 10, 100)  # 100/s, 10 % hits
    history.add(1.0, 150, 20, 150)  # same instant: ignored, no division by zero
    history.add(3.0, 300, 110, 300)  # 100/s over 2 s, 50 % of the 200 new answers
    assert list(history.throughput) == [100.0, 100.0]
    assert list(history.hit_rate) == [0.1, 0.5]
    for t in (4.0, 5.0, 6.0):
        history.add(t, 300, 110, 300)  # bounded: only the last three intervals stay
    assert list(history.throughput) == [0.0, 0.0, 0.0]


def test_eta_is_the_remaining_share_at_the_rate_so_far() -> None:
    assert eta_s(250, 1_000, 5.0) == pytest.approx(15.0)
    assert eta_s(1_000, 1_000, 5.0) == 0.0
    assert eta_s(0, 1_000, 5.0) is None  # nothing done: no rate yet
    assert eta_s(10, None, 5.0) is None  # a stream has no known end


def test_progress_bar_shows_share_count_and_eta_only_when_the_length_is_known() -> None:
    text = progress_text(375, 1_500, 1.5, width=20).plain
    assert text.startswith("━" * 20)
    assert "25%" in text
    assert "375/1,500" in text
    assert "ETA 4 s" in text
    assert "done" in progress_text(1_500, 1_500, 6.0).plain
    assert progress_text(42, None, 1.0).plain == "42 stimuli (a stream: no end known)"


def test_durations_read_as_a_person_says_them() -> None:
    assert duration_text(4.4) == "4 s"
    assert duration_text(125) == "2 min 05 s"
    assert duration_text(3_720) == "1 h 02 min"


# ---------------------------------------------------------------- the oscillator


def test_gain_matches_the_gate_model_at_peak_and_trough() -> None:
    assert gain_at(0.0, 1.0) == 0.0  # the alpha peak: inhibition strongest
    assert gain_at(math.pi, 1.0) == 1.0  # the trough: released
    assert gain_at(math.pi / 2, 1.0) == pytest.approx(0.5)


def test_oscillator_strip_is_one_cycle_closed_at_the_peak_with_the_phase_marked() -> None:
    strip = oscillator_strip(math.pi, power=2.0, suppress_below=0.1, width=24)
    assert len(strip.plain) == 24
    assert strip.plain[0] == strip.plain[-1] == SPARK[0]  # the peak sits at both edges
    assert strip.plain[12] == SPARK[-1]  # the trough in the middle
    styles = {span.start: str(span.style) for span in strip.spans}
    assert "reverse" in styles[12]  # phase pi: the middle cell is the current one
    assert styles[0].startswith("red")
    assert styles[12].startswith("green")
    closed = sum(1 for span in strip.spans if str(span.style).startswith("red"))
    assert 0 < closed < 24  # at power 2 half the cycle is shut; some of it is open


# ---------------------------------------------------------------- hypotheses


def test_edges_are_parsed_and_drawn_as_abbreviated_glyphs() -> None:
    description = "alcohol→flavanoids, color_intensity→hue"
    assert parse_edges(description) == [("alcohol", "flavanoids"), ("color_intensity", "hue")]
    assert abbreviate("color_intensity") == "ci"
    assert abbreviate("flavanoids") == "flav"
    assert edge_glyphs(description) == "alco→flav  ci→hue"
    assert edge_glyphs("(independent)") == "∅ (independent)"
    assert parse_edges("(independent)") == []


def test_mass_bar_is_proportional_in_eighths() -> None:
    assert mass_bar(1.0, width=4) == "████"
    assert mass_bar(0.5, width=4) == "██  "
    assert mass_bar(0.0625, width=4) == "▎   "  # two eighths of one cell
    assert mass_bar(0.0, width=4) == "    "


def test_a_frame_draws_hypotheses_with_their_mass_and_a_legend() -> None:
    snapshot = RunSnapshot(
        processed=600, elapsed_s=2.4, total=1_500, cognition=True,
        batch=_batch(("alcohol→hue", 0.5), ("(independent)", 0.25)),
    )  # fmt: skip
    text = _text(render_snapshot(snapshot))
    assert "alco→hue" in text
    assert "50%" in text
    assert "█████" in text
    assert "∅ (independent)" in text
    assert "alco=alcohol" in text
    assert "hue=hue" in text
    assert "40%" in text
    assert "600/1,500" in text


def test_before_the_first_batch_the_frame_says_why_there_is_none_yet() -> None:
    def waiting(**fields: int) -> str:
        return _text(render_snapshot(RunSnapshot(processed=10, elapsed_s=0.1, cognition=True,
                                                 **fields)))  # fmt: skip

    assert "cognition is thinking about 12 misses" in waiting(offered=12)
    assert "no misses yet: every stimulus so far was a confident reflex hit" in waiting()
    assert "cognition failed 2 times" in waiting(offered=12, cognition_failures=2)
    no_cognition = _text(render_snapshot(RunSnapshot(processed=10, elapsed_s=0.1)))
    assert "hypotheses" not in no_cognition


def test_the_sparklines_keep_their_history_after_the_stream_without_adding_to_it() -> None:
    snapshot = RunSnapshot(
        processed=900, elapsed_s=3.0, throughput=(100.0, 300.0), hit_rate=(0.0, 1.0),
        stage="finishing: writing 12 episodes",
    )  # fmt: skip
    text = _text(render_snapshot(snapshot))
    assert f"{SPARK[2]}{SPARK[-1]}" in text  # 100 and 300 on a scale from 0
    assert f"{SPARK[0]}{SPARK[-1]}" in text  # hit rate on [0, 1]
    assert "finishing: writing 12 episodes" in text


# ---------------------------------------------------------------- the journal


def test_journal_row_says_it_is_starting_or_catching_up_not_failing() -> None:
    assert (
        "starting the graph writer: 2,950 episodes waiting"
        in journal_text(_journal(0, 2_950)).plain
    )
    catching = journal_text(_journal(1_000, 3_000)).plain
    assert catching.startswith("catching up: 1,000 written, 3,000 waiting (25%)")
    assert journal_text(_journal(5_000, 12)).plain == "5,000 written, 12 waiting"
    down = journal_text(_journal(10, 300, up=False)).plain
    assert down.startswith("store down: 300 episodes spilled to the outbox")


# ---------------------------------------------------------------- start-up and summary


def test_loading_view_lists_done_steps_with_times_and_the_running_one() -> None:
    text = _text(loading_view([Step("loading settings", 0.21), Step("opening reflex memory")]))
    assert re.search(r"✓\s+loading settings\s+0\.2 s", text), text
    running = next(line for line in text.splitlines() if "opening reflex memory" in line)
    assert "✓" not in running
    assert " s " not in running


def test_summary_throughput_leaves_shutdown_out() -> None:
    timing = RunTiming(n=1_500, stream_s=6.0, total_s=9.5)
    assert timing.per_second == 250.0  # not 1,500 / 9.5 = 158
    assert timing.shutdown_s == pytest.approx(3.5)
    assert timing.describe() == "in 6.00 s (250/s), then 3.50 s to finish (journal, cognition)"
    started = RunTiming(n=1_500, stream_s=6.0, total_s=9.5, startup_s=4.25)
    assert started.per_second == 250.0  # start-up is not streaming either
    assert "(250/s) after 4.2 s of start-up, then 3.50 s" in started.describe()
    assert RunTiming(n=0, stream_s=0.0, total_s=0.0).per_second == 0.0
    assert RunTiming(n=5, stream_s=2.0, total_s=1.0).shutdown_s == 0.0  # never negative
