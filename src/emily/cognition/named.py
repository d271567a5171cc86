"""Things found by name: cognition's registries, and a package's public names imported lazily.

Why one registry class: hypothesis spaces (``emily.cognition.envs.registry``) and training
objectives (``emily.cognition.losses``) are both looked up by a name a user types or a
checkpoint stores, refuse a second entry under a name unless told to replace it, and list their
names for help and errors. Light (no torch), because ``emily --help`` reads the spaces; for the
same reason the tier's packages import their public names on first use
(:func:`lazy_attributes`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import Any, Generic, TypeVar

from emily.core.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (``what`` names the kind in errors)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Register ``entry`` as ``name`` (``replace=True`` to redefine a name); returns it."""
        if name in self._entries and not replace:
            raise InputError(f"{self.what} {name!r} is registered already")
        self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def find(self, name: str) -> T | None:
        """The entry ``name``, or ``None``."""
        return self._entries.get(name)

    def get(self, name: str) -> T:
        """The entry ``name``; an unknown name is an error that lists the known ones."""
        entry = self._entries.get(name)
        if entry is None:
            raise InputError(f"unknown {self.what} {name!r}; registered: {', '.join(self)}")
        return entry

    def copy(self) -> Registry[T]:
        """An independent registry with the same entries (tests register into a copy)."""
        twin: Registry[T] = Registry(self.what)
        twin._entries = dict(self._entries)
        return twin

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A PEP 562 ``__getattr__`` for ``package``: each public name of ``homes`` (name ->
    module) is imported from its module on first use and kept, so importing the package imports
    none of them (``emily train --help`` reads the registry without loading torch)."""

    def attribute(name: str) -> Any:
        module = homes.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return attribute
