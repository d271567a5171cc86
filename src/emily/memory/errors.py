"""Errors of the memory tier, so callers can react to each by type."""

from __future__ import annotations

from emily.core import EmilyError


class StoreUnavailableError(EmilyError):
    """A store (the episodic graph) cannot be reached; the runtime buffers writes and replays them.

    Writes are idempotent (caller-chosen ids, ``MERGE`` on id), so a replay never duplicates.
    """


class MigrationError(EmilyError):
    """A migration failed or did not verify; it was rolled back and the ledger is unchanged."""
