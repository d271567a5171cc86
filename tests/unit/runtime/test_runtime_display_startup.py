"""``emily run``'s view from the first instant: start-up steps with their times, then frames.

The run's terminal region (``emily.cli._run_view.RunView``) is driven here with a manual clock
and a recording console, without a runtime: only the start-up steps and the no-live mode are
judged (the frames themselves are pinned in ``test_runtime_display``).
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from emily.cli._run_view import RunView
from emily.core import ManualClock


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, force_terminal=True, color_system=None), out


def test_each_start_up_step_is_shown_running_then_done_with_its_time() -> None:
    clock = ManualClock()
    console, out = _console()
    with RunView(console, live=True, clock=clock) as view:
        with view.step("loading settings"):
            clock.advance(0.25)
        with view.step("opening reflex memory (LanceDB)"):
            assert view.steps[-1].seconds is None  # shown as running while it runs
            clock.advance(2.0)
    assert [(s.what, s.seconds) for s in view.steps] == [
        ("loading settings", 0.25),
        ("opening reflex memory (LanceDB)", 2.0),
    ]
    drawn = out.getvalue()
    assert "opening reflex memory (LanceDB)" in drawn
    assert "2.0 s" in drawn


def test_a_failing_step_still_ends_and_the_error_goes_on() -> None:
    clock = ManualClock()
    view = RunView(_console()[0], live=True, clock=clock)

    def check() -> None:
        with view.step("checking a file"):
            clock.advance(1.0)
            raise ValueError("bad input")

    with view, pytest.raises(ValueError, match="bad input"):
        check()
    assert view.steps[-1].seconds == 1.0


def test_without_a_live_view_nothing_is_drawn_and_work_still_runs() -> None:
    console, out = _console()
    with RunView(console, live=False, clock=ManualClock()) as view:
        with view.step("loading settings"):
            pass
        assert view.live is False
        assert view.until(lambda: True, 5.0, None, 0, 0.0, "") is True  # type: ignore[arg-type]
    assert out.getvalue() == ""
