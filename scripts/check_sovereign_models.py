"""House rule: data models subclass ``emily.core.SovereignModel``, never ``pydantic.BaseModel``.

A plain ``BaseModel`` coerces types, accepts unknown keys and can be mutated after validation;
``SovereignModel`` forbids all three. Only ``src/emily/core`` may touch ``BaseModel`` itself.

Usage: ``python scripts/check_sovereign_models.py [PATH ...]`` (default: ``src``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from _ast_check import Violation, run

ALLOWED_DIR = "src/emily/core/"


def _base_model_aliases(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to ``pydantic.BaseModel`` and names bound to the ``pydantic`` module."""
    class_names: set[str] = set()
    module_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"pydantic", "pydantic.main"}:
            class_names.update(a.asname or a.name for a in node.names if a.name == "BaseModel")
        elif isinstance(node, ast.Import):
            module_names.update(a.asname or a.name for a in node.names if a.name == "pydantic")
    return class_names, module_names


def check(path: Path, tree: ast.Module) -> list[Violation]:
    if ALLOWED_DIR in path.resolve().as_posix():
        return []
    class_names, module_names = _base_model_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            plain = isinstance(base, ast.Name) and base.id in class_names
            dotted = (
                isinstance(base, ast.Attribute)
                and base.attr == "BaseModel"
                and isinstance(base.value, ast.Name)
                and base.value.id in module_names
            )
            if plain or dotted:
                found.append(
                    Violation(
                        path,
                        node.lineno,
                        f"class {node.name} subclasses pydantic.BaseModel; "
                        "subclass emily.core.SovereignModel instead",
                    )
                )
    return found


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], ["src"], check, "SovereignModel"))
