"""The backup manifest and its parts: what a snapshot holds, with the figures that prove it.

Why a manifest inside the snapshot: restic proves the repository's bytes are intact (``check``),
but not that the stores in them are the ones Emily had. The manifest records, per store, the
checksum of every staged file and engine-level figures (row counts, node and edge counts, a
content digest), so ``restore --verify`` can recompute them on the restored copy and name any
mismatch.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from pydantic import Field

from emily.core import SovereignModel

MANIFEST_NAME = "emily-backup-manifest.json"
MANIFEST_FORMAT = 1


class StoreRecord(SovereignModel):
    """One store as staged: its kind, place under EMILY_HOME, checksums and engine figures.

    Attributes:
        path: Path relative to EMILY_HOME (POSIX separators).
        kind: Snapshotter that staged it (``sqlite``, ``lancedb``, ``falkordb``, ``files``).
        files: sha256 of every staged file, by path relative to the store.
        counts: Engine figures (rows per table, nodes per label, ...), by name.
        digests: Content digests independent of file layout (per LanceDB table, per graph).
        versions: Pinned engine versions (LanceDB table version at the snapshot point).
    """

    path: str
    kind: str
    files: dict[str, str]
    counts: dict[str, int] = Field(default_factory=dict)
    digests: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, int] = Field(default_factory=dict)


class BackupManifest(SovereignModel):
    """Everything one snapshot holds; stored as JSON at the root of the staged tree."""

    format: int = MANIFEST_FORMAT
    created_at: datetime
    home: str
    stores: list[StoreRecord]


class Mismatch(SovereignModel):
    """One difference between the manifest and a restored store."""

    store: str
    what: str
    expected: str
    found: str


class VerifyReport(SovereignModel):
    """Result of recomputing every store's figures on a restored tree."""

    stores: int
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        """True when every store matched its manifest record."""
        return not self.mismatches


class BackupResult(SovereignModel):
    """What ``backup`` did: the snapshot id, the manifest, and whether ``restic check`` passed."""

    snapshot_id: str
    manifest: BackupManifest
    checked: bool


class RestoreResult(SovereignModel):
    """What ``restore`` did: where the restored home is, where the old one was set aside."""

    snapshot_id: str
    home: str
    previous_home: str | None
    report: VerifyReport


class BackupSettings(SovereignModel):
    """Where backups go and how they are unlocked.

    Attributes:
        home: EMILY_HOME being backed up.
        repository: restic repository: a folder or any restic backend URL (``EMILY_BACKUP_REPO``).
            Default ``<EMILY_HOME>.backups`` beside the home: a backup inside the folder it
            protects would be lost with it.
        password_file: restic password file; ``RESTIC_PASSWORD_FILE`` or a generated
            ``EMILY_HOME/backup/restic-password`` (mode 0600) when ``RESTIC_PASSWORD`` is unset.
        append_only: The repository refuses deletes (``rest-server --append-only``, ``rclone
            serve restic --append-only``; ``EMILY_BACKUP_APPEND_ONLY=1``): backups skip
            ``forget --prune``, which such a server rejects; retention runs on the server side.
    """

    home: Path
    repository: str
    password_file: Path | None = None
    append_only: bool = False

    @classmethod
    def from_env(cls, home: Path | None = None) -> BackupSettings:
        """Read EMILY_HOME, EMILY_BACKUP_REPO, EMILY_BACKUP_APPEND_ONLY and RESTIC_PASSWORD_FILE."""
        resolved = (home or Path(os.environ.get("EMILY_HOME", ".emily"))).absolute()
        default_repo = str(resolved.parent / f"{resolved.name}.backups")
        repo = os.environ.get("EMILY_BACKUP_REPO") or default_repo
        pw = os.environ.get("RESTIC_PASSWORD_FILE")
        append_only = os.environ.get("EMILY_BACKUP_APPEND_ONLY", "").lower() in ("1", "true", "yes")
        return cls(
            home=resolved,
            repository=repo,
            password_file=Path(pw) if pw else None,
            append_only=append_only,
        )
