"""The ``[[wiki link]]`` MkDocs hook inside a real ``mkdocs build --strict`` of a tiny site.

Split from ``tests/unit/ops/test_wikilinks_hook.py``: each build is a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HOOK = Path(__file__).resolve().parents[3] / "docs" / "hooks" / "wikilinks.py"


def _site(tmp_path: Path, note: str) -> subprocess.CompletedProcess[str]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [[Other page]].\n")
    (docs / "other.md").write_text(f"# Other page\n\n{note}\n")
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\nhooks:\n  - {HOOK}\nnav:\n  - index.md\n  - other.md\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=tmp_path,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_strict_build_passes_with_resolved_links(tmp_path: Path) -> None:
    proc = _site(tmp_path, "Back [[Home|home]].")
    assert proc.returncode == 0, proc.stderr
    assert '<a href="other/">Other page</a>' in (tmp_path / "site" / "index.html").read_text()


def test_strict_build_fails_on_a_dangling_link(tmp_path: Path) -> None:
    proc = _site(tmp_path, "Broken: [[Nowhere at all]].")
    assert proc.returncode != 0
    assert "wiki link [[Nowhere at all]] matches no page" in proc.stderr
