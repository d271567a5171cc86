"""``Closing``: a base for resources used in ``with`` blocks and released by ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """``with Resource(...) as r:`` calls ``r.close()`` on the way out, whatever happened.

    Why a base class: every engine handle (bus session, online store, feature stream, memory)
    has the same two dunder methods; subclasses only define ``close``.
    """

    def close(self) -> None:
        """Release the resource (subclasses override)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
