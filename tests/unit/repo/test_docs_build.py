"""The documentation's navigation lists every ADR and runbook (the strict build: integration)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_adr_and_runbook_is_in_the_nav() -> None:
    """The nav lists ADRs and runbooks by pattern, so a new file cannot be left out."""
    text = (ROOT / "mkdocs.yml").read_text()
    assert "adr/0*.md" in text
    assert "runbooks/*.md" in text
