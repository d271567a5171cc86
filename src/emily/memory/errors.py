"""Errors of the memory tier, so callers can react to each by type."""

from __future__ import annotations

from emily.core import EmilyError


class StoreUnavailableError(EmilyError):
    """A store (the episodic graph) cannot be reached; the runtime buffers writes and replays them.

    Writes are idempotent (caller-chosen ids, ``MERGE`` on id), so a replay never duplicates.
    """


class MigrationError(EmilyError):
    """A migration failed or did not verify; it was rolled back and the ledger is unchanged."""


class StorageFullError(EmilyError):
    """The disk under a store is full: the write was refused whole and nothing stored changed.

    LanceDB commits a write atomically (a new table version only after every file of it is
    written), so a write that hits ENOSPC leaves the table at its previous version. Free space
    and retry: writes are upserts on id, so a retry never duplicates.
    """
