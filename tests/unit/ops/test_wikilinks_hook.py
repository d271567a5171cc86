"""The ``[[wiki link]]`` MkDocs hook: resolution, labels, code left alone, dangling links fail."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from _support.modules import load_script

ROOT = Path(__file__).resolve().parents[3]
HOOK = ROOT / "docs" / "hooks" / "wikilinks.py"


def _hook() -> ModuleType:
    return load_script(HOOK, "wikilinks_under_test")


@pytest.fixture(scope="module")
def wl() -> ModuleType:
    return _hook()


@pytest.fixture
def index(wl: ModuleType) -> dict[str, str]:
    return wl.build_index(
        [
            ("notes/alpha-gating.md", "# Alpha gating\n\ntext"),
            ("notes/index.md", "# Knowledge notes\n"),
            ("runbooks/phase-drift.md", "# Phase drift\n"),
            ("index.md", "# Emily Sovereign\n"),
        ]
    )


def test_title_and_file_name_resolve_relative_to_the_page(
    wl: ModuleType, index: dict[str, str]
) -> None:
    text, dangling = wl.render("See [[Alpha gating]] and [[phase-drift]].", "notes/x.md", index)
    assert (
        text == "See [Alpha gating](alpha-gating.md) and [phase-drift](../runbooks/phase-drift.md)."
    )
    assert dangling == []


def test_label_and_anchor(wl: ModuleType, index: dict[str, str]) -> None:
    text, _ = wl.render("[[Phase Drift#Resolution|fix it]]", "index.md", index)
    assert text == "[fix it](runbooks/phase-drift.md#resolution)"


def test_case_spaces_and_dashes_are_ignored(wl: ModuleType, index: dict[str, str]) -> None:
    text, _ = wl.render("[[ALPHA_gating]]", "notes/y.md", index)
    assert text == "[ALPHA_gating](alpha-gating.md)"


def test_code_is_left_alone(wl: ModuleType, index: dict[str, str]) -> None:
    source = "`[[Alpha gating]]`\n```\n[[Alpha gating]]\n```\n[[Alpha gating]]"
    text, dangling = wl.render(source, "notes/z.md", index)
    assert text.split("\n")[:4] == ["`[[Alpha gating]]`", "```", "[[Alpha gating]]", "```"]
    assert text.split("\n")[4] == "[Alpha gating](alpha-gating.md)"
    assert dangling == []


def test_dangling_link_is_reported_and_kept(wl: ModuleType, index: dict[str, str]) -> None:
    text, dangling = wl.render("[[No such page|x]]", "index.md", index)
    assert dangling == ["No such page"]
    assert text == "[[No such page|x]]"
