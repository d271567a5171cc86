"""House rule (one convention per layer): another layer is entered through its package only.

Each tier (instinct, nervous system, cognition, memory, runtime) and each ``emily.ops.<sub>``
exposes a small typed public API in its ``__init__``; code outside it imports those names
(``from emily.memory import open_memory``), never a module behind them
(``from emily.memory.stores import open_memory``), so a layer can split, rename or move its
modules without touching a caller. Inside a layer, modules import each other directly.
``emily.core`` is shared infrastructure that anyone may import module by module; ``emily.cli``
is the edge, which no layer imports. The store migrations under ``src/emily/_data/migrations``
belong to the memory tier: its ``Migrator`` runs them, against the store layout of their version.

Usage: ``python scripts/check_layer_imports.py [PATH ...]`` (default: ``src``).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from _ast_check import Violation, run

LAYERS = frozenset({"instinct", "nervous_system", "cognition", "memory", "runtime"})
"""The tiers; ``ops`` is not one layer but one per subpackage (``emily.ops.backup``...)."""
OWNED_DATA = {("_data", "migrations"): ("emily", "memory")}
"""Package data folders that are part of a layer, and that layer."""


def _layer(module: tuple[str, ...]) -> tuple[str, ...] | None:
    """The layer a dotted module belongs to (``emily.ops.backup`` for ``emily.ops.backup._x``),
    or ``None`` for what no layer owns (``emily.core``, ``emily.cli``, ``emily.ops`` itself)."""
    if len(module) >= 2 and module[0] == "emily" and module[1] in LAYERS:
        return module[:2]
    if len(module) >= 3 and module[:2] == ("emily", "ops"):
        return module[:3]
    return None


def _locate(path: Path) -> tuple[Path, tuple[str, ...]] | None:
    """The ``src/emily`` folder a file lives under and the file's dotted module name."""
    parts = path.absolute().parts
    for i in range(1, len(parts) - 1):
        if parts[i - 1 : i + 1] == ("src", "emily"):
            module = (*parts[i:-1], path.stem)
            return Path(*parts[: i + 1]), module[:-1] if path.stem == "__init__" else module
    return None


def _is_module(root: Path, module: tuple[str, ...]) -> bool:
    """Whether ``module`` (``emily.x.y``) is a module or package under ``root`` (``src/emily``)."""
    where = root.joinpath(*module[1:])
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _imported(
    node: ast.Import | ast.ImportFrom, package: tuple[str, ...], root: Path
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each emily module an import statement loads, and the names it wants from it."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield tuple(alias.name.split(".")), ()
        return
    base = package[: len(package) - node.level + 1] if node.level else ()
    module = (*base, *(node.module.split(".") if node.module else ()))
    names = tuple(alias.name for alias in node.names)
    yield module, names
    for name in names:  # `from emily.cognition import posterior` loads a module too
        if name != "*" and _layer(module) and _is_module(root, (*module, name)):
            yield (*module, name), ()


def check(path: Path, tree: ast.Module) -> list[Violation]:
    located = _locate(path)
    if located is None:
        return []
    root, own = located
    own_layer = next(
        (layer for folder, layer in OWNED_DATA.items() if own[1:3] == folder), _layer(own)
    )
    package = own if path.stem == "__init__" else own[:-1]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        for module, names in _imported(node, package, root):
            layer = _layer(module)
            if layer is None or layer == own_layer or len(module) == len(layer):
                continue
            wanted = ", ".join(names) if names else "the names it needs"
            found.append(
                Violation(
                    path,
                    node.lineno,
                    f"`{ast.unparse(node)}` reaches into {'.'.join(layer)}'s module "
                    f"{'.'.join(module)}; expected `from {'.'.join(layer)} import {wanted}` "
                    "(add them to its public API if they are not there)",
                )
            )
    return found


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], ["src"], check, "layer imports"))
