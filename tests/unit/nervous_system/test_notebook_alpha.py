"""The alpha-attention notebook is stored without outputs and its figure is committed.

Executing it starts a Jupyter kernel: that test is
``tests/integration/nervous_system/test_notebook_alpha_executes.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

INTERACTIVE = Path(__file__).resolve().parents[3] / "docs" / "interactive"
NOTEBOOK = INTERACTIVE / "alpha_attention.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_stored_notebook_has_no_outputs_and_its_figure_is_committed() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert (cell.outputs, cell.execution_count) == ([], None)
    assert (INTERACTIVE / "alpha_attention.png").read_bytes().startswith(PNG_MAGIC)
