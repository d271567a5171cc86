"""The documentation site builds with ``mkdocs build --strict`` (no warnings, no network).

Split from ``tests/unit/repo/test_docs_build.py``: the build is a subprocess of seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_mkdocs_build_strict_passes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # the runbooks come from ops/runbooks, the API pages from docstrings, the notes' wiki links
    assert (site / "runbooks" / "bus-router-down" / "index.html").is_file()
    api = (site / "reference" / "core" / "index.html").read_text()
    assert 'id="emily.core.SovereignModel"' in api
    note = (site / "notes" / "alpha-gating" / "index.html").read_text()
    assert "[[" not in note
    assert 'href="../fallback-to-tier0/"' in note
