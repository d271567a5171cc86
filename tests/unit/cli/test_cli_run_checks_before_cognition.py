"""``emily run`` refuses bad settings or a bad file before it starts cognition's sampler.

The sampler's process imports PyTorch for seconds (tens on a loaded machine), and a refusal
waited for it to finish before exiting; now it is started once the run is known to go ahead:
after the settings loaded and, for a file, after the file's whole check passed, and still
before the engines load, so its imports overlap them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import emily.runtime
from emily.cli.app import app
from emily.core import EmilyError

runner = CliRunner()


class _StopError(Exception):
    """Ends a good run where the test has seen what it needs (before any engine opens)."""


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``emily run`` started, in order: the sampler, then cognition's model choice."""
    made: list[str] = []

    def choose_cognition(*_args: object, **_kwargs: object) -> None:
        made.append("choose_cognition")
        raise _StopError

    monkeypatch.setattr(emily.runtime, "prestart", lambda *_a, **_k: made.append("prestart"))
    monkeypatch.setattr(emily.runtime, "choose_cognition", choose_cognition)
    return made


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("x,y,label\n1,2,a,EXTRA\n", "4 cells but the header has 3"),
        ("x,y,label\nNaN,2,a\n", "NaN"),
    ],
    ids=["missing", "extra-cells", "nan"],
)
def test_a_bad_file_is_refused_without_starting_the_sampler(
    tmp_path: Path, calls: list[str], content: str | None, expected: str
) -> None:
    source = tmp_path / "stimuli.csv"
    if content is not None:
        source.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["run", str(source), "--no-live"])
    assert isinstance(result.exception, EmilyError), result.output  # `emily` exits 2 with it
    assert expected in str(result.exception)
    assert calls == []


def test_bad_settings_are_refused_without_starting_the_sampler(
    tmp_path: Path, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMILY_LATENCY_BUDGET_MS", "fast")
    result = runner.invoke(app, ["run", "--demo", "--no-live"])
    assert isinstance(result.exception, EmilyError), result.output
    assert "EMILY_LATENCY_BUDGET_MS='fast'" in str(result.exception)
    assert calls == []


def test_a_good_file_starts_the_sampler_after_its_check_and_before_the_engines(
    tmp_path: Path, calls: list[str]
) -> None:
    source = tmp_path / "stimuli.csv"
    source.write_text("x,y,label\n1,2,a\n2,3,b\n1.5,2.5,a\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(source), "--no-live", "--no-journal"])
    assert isinstance(result.exception, _StopError), result.output
    assert calls == ["prestart", "choose_cognition"]
