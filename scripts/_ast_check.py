"""Shared walking and reporting for the house-rule checks (AST based, so comments never match)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place in one file."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``.py`` file named, or found under a named folder, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.suffix == ".py":
            yield path


def run(
    argv: list[str],
    default_paths: list[str],
    check: Callable[[Path, ast.Module], list[Violation]],
    rule: str,
) -> int:
    """Parse each file, apply ``check``, print violations; exit status 1 if any were found."""
    paths = [Path(arg) for arg in argv] or [Path(p) for p in default_paths]
    violations: list[Violation] = []
    for path in python_files(paths):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        violations.extend(check(path, tree))
    for violation in violations:
        print(violation, file=sys.stderr)
    if violations:
        print(f"{len(violations)} violation(s) of the {rule} rule", file=sys.stderr)
        return 1
    return 0
