"""A package's public names, imported on first use (PEP 562).

Why: a tier's package imports its engines through its public names (torch for cognition, DBOS
and LanceDB for memory), and whoever imports one light submodule of it (``emily train --help``
reading the hypothesis-space registry, the runtime's journal reading episodes) would otherwise
pay seconds for all of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
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
