"""A package's public names, imported on first use (PEP 562).

Why: a tier's package imports its engines through its public names (torch for cognition, DBOS
and LanceDB for memory), and whoever imports one light submodule of it (``emily train --help``
reading the hypothesis-space registry, the runtime's journal reading episodes) would otherwise
pay seconds for all of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A PEP 562 ``__getattr__`` for ``package``: each public name of ``homes`` (name ->
    module) is imported from its module on first use and kept on the package; any other name is
    an ``AttributeError``, so ``from package import submodule`` still finds the submodule."""

    def attribute(name: str) -> Any:
        module = homes.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return attribute


def lazy_package(
    package: str, homes: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` of a package whose public names live in private modules.

    ``homes`` maps each module to the public names it defines, as a package's ``__init__`` lists
    them. ``__dir__`` shows the module's own names and the lazy public ones, as ``dir()`` did when
    the package imported them eagerly (tab completion, ``help()``).
    """
    home_of = {name: module for module, names in homes.items() for name in names}

    def listing() -> list[str]:
        module = sys.modules[package]
        return sorted({*vars(module), *getattr(module, "__all__", ())})

    return lazy_attributes(package, home_of), listing
