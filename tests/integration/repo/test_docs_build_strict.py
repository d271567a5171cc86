"""The documentation site builds with ``mkdocs build --strict`` (no warnings, no network), and
holds what it is built from: runbooks, API pages from docstrings, resolved wiki links.

The build is the suite's one (the ``docs_site`` fixture: ``make test`` builds the site once,
before pytest, and every test that reads it shares that build).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_mkdocs_build_strict_passes(docs_site: Path) -> None:
    site = docs_site
    # the runbooks come from ops/runbooks, the API pages from docstrings, the notes' wiki links
    assert (site / "runbooks" / "bus-router-down" / "index.html").is_file()
    api = (site / "reference" / "core" / "index.html").read_text()
    assert 'id="emily.core.SovereignModel"' in api
    note = (site / "notes" / "alpha-gating" / "index.html").read_text()
    assert "[[" not in note
    assert 'href="../fallback-to-tier0/"' in note
