"""The alpha-attention notebook executes (so it cannot rot) and saves its figure.

Split from ``tests/unit/nervous_system/test_notebook_alpha.py``: it starts a Jupyter kernel.

It runs on a kernel spec written here for the running interpreter, so a fresh CI virtual
environment needs no ``ipykernel install``; every file it makes stays under ``tmp_path``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[3] / "docs" / "interactive" / "alpha_attention.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def kernel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``python3`` kernel spec for ``sys.executable``, first on JUPYTER_PATH; IPython state and
    connection files under ``tmp_path`` too."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.mark.slow
def test_notebook_executes_and_saves_its_figure(
    kernel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figure = kernel_home / "figure" / "alpha_attention.png"
    monkeypatch.setenv("EMILY_ALPHA_FIGURE", str(figure))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(kernel_home)}},  # the kernel's working folder
    ).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "gain at the salient spike: 1.000" in printed
    assert "saved alpha_attention.png" in printed
    assert figure.read_bytes().startswith(PNG_MAGIC)
