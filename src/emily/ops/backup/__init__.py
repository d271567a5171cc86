"""Verified backups of everything under EMILY_HOME into a restic repository.

Each engine is staged by its own safe method (SQLite online backup, a pinned LanceDB table
version, FalkorDB's own ``SAVE``, checksummed copies for plain files), described in a manifest
with checksums and counts, and backed up with restic; ``restore`` verifies a restored snapshot
against that manifest before it replaces the live home. The key that opens the repository
lives outside the home (``<EMILY_HOME>.backup-key`` or a file the operator names), so a lost
home can be restored (ADR 0016).

Example:
    >>> from emily.ops.backup import BackupSettings, backup, restore  # doctest: +SKIP
    >>> result = backup(BackupSettings.from_env())  # doctest: +SKIP
    >>> restore(snapshot=result.snapshot_id).report.ok  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.backup._falkor import FalkorDBSnapshotter
    from emily.ops.backup._lance import LanceDBSnapshotter
    from emily.ops.backup._models import (
        KEEP_LAST,
        MANIFEST_NAME,
        BackupManifest,
        BackupResult,
        BackupSettings,
        Mismatch,
        RestoreResult,
        StoreRecord,
        VerifyReport,
    )
    from emily.ops.backup._restic import RETENTION, BackupKeyError, Restic, ResticError
    from emily.ops.backup._restore_record import (
        RestoreRecord,
        describe,
        read_restore_record,
        write_restore_record,
    )
    from emily.ops.backup._service import (
        RestoreVerificationError,
        backup,
        default_snapshotters,
        discover,
        restore,
        stage,
        stop_graph_servers,
        verify_tree,
    )
    from emily.ops.backup._snapshotters import Snapshotter, SQLiteSnapshotter

_HOMES = {
    "emily.ops.backup._falkor": ("FalkorDBSnapshotter",),
    "emily.ops.backup._lance": ("LanceDBSnapshotter",),
    "emily.ops.backup._models": (
        "BackupManifest", "BackupResult", "BackupSettings", "KEEP_LAST", "MANIFEST_NAME",
        "Mismatch", "RestoreResult", "StoreRecord", "VerifyReport",
    ),
    "emily.ops.backup._restic": ("BackupKeyError", "RETENTION", "Restic", "ResticError"),
    "emily.ops.backup._restore_record": (
        "RestoreRecord", "describe", "read_restore_record", "write_restore_record",
    ),
    "emily.ops.backup._service": (
        "RestoreVerificationError", "backup", "default_snapshotters", "discover", "restore",
        "stage", "stop_graph_servers", "verify_tree",
    ),
    "emily.ops.backup._snapshotters": ("SQLiteSnapshotter", "Snapshotter"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "KEEP_LAST",
    "MANIFEST_NAME",
    "RETENTION",
    "BackupKeyError",
    "BackupManifest",
    "BackupResult",
    "BackupSettings",
    "FalkorDBSnapshotter",
    "LanceDBSnapshotter",
    "Mismatch",
    "Restic",
    "ResticError",
    "RestoreRecord",
    "RestoreResult",
    "RestoreVerificationError",
    "SQLiteSnapshotter",
    "Snapshotter",
    "StoreRecord",
    "VerifyReport",
    "backup",
    "default_snapshotters",
    "describe",
    "discover",
    "read_restore_record",
    "restore",
    "stage",
    "stop_graph_servers",
    "verify_tree",
    "write_restore_record",
]
