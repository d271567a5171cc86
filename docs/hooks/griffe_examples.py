"""Griffe extension: read a Google ``Example:`` section as an examples section.

Why: the Google style guide allows both ``Example:`` and ``Examples:``, but Griffe parses only
the plural as examples and renders the singular as a plain admonition, whose ``>>>`` lines are
then read as Markdown (``x[0]["key"]`` becomes a broken reference link under ``--strict``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class GoogleExampleSections(griffe.Extension):
    """Rename ``Example:`` section headers to ``Examples:`` before docstrings are parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the header in ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = SINGULAR.sub(r"\1Examples:", obj.docstring.value)
