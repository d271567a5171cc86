"""Things found by name: cognition's registries.

Why one registry class: hypothesis spaces (``emily.cognition.envs.registry``) and training
objectives (``emily.cognition.losses``) are both looked up by a name a user types or a
checkpoint stores, refuse a second entry under a name unless told to replace it, and list their
names for help and errors. Light (no torch), because ``emily --help`` reads the spaces; for the
same reason the tier's packages import their public names on first use
(:func:`emily.core.lazy.lazy_attributes`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

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
