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

from emily.core import ConfigError, SovereignModel

MANIFEST_NAME = "emily-backup-manifest.json"
MANIFEST_FORMAT = 1
KEEP_LAST = 10  # newest snapshots kept whatever their day (retention's --keep-last)


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
    """What ``backup`` did: the snapshot id, the manifest, whether ``restic check`` passed,
    and which key file unlocks the repository (``key_created``: this run wrote it, so the
    operator must now keep a copy of it away from this machine; see ADR 0016).
    """

    snapshot_id: str
    manifest: BackupManifest
    checked: bool
    key_file: str | None = None
    key_created: bool = False


class RestoreResult(SovereignModel):
    """What ``restore`` did: where the restored home is, where the old one was set aside."""

    snapshot_id: str
    home: str
    previous_home: str | None
    report: VerifyReport


class BackupSettings(SovereignModel):
    """Where backups go, how they are unlocked and how many are kept.

    Attributes:
        home: EMILY_HOME being backed up: ``home`` of ``emily.core.settings.load_settings()``
            (the ``EMILY_HOME`` variable, else ``home`` in ``emily.toml``, else ``./.emily``).
        repository: restic repository: a folder or any restic backend URL (``EMILY_BACKUP_REPO``).
            Default ``<EMILY_HOME>.backups`` beside the home: a backup inside the folder it
            protects would be lost with it.
        password_file: The key file named by the operator (``--password-file``,
            ``EMILY_BACKUP_PASSWORD_FILE`` or ``RESTIC_PASSWORD_FILE``). Unset: ``RESTIC_PASSWORD``,
            else :attr:`key_file` (ADR 0016).
        keep_last: Retention keeps the newest ``keep_last`` snapshots whatever their day, on top
            of the daily/weekly/monthly/yearly ones (``EMILY_BACKUP_KEEP_LAST``, default 10), so
            a second backup the same day never deletes the first.
        append_only: The repository refuses deletes (``rest-server --append-only``, ``rclone
            serve restic --append-only``; ``EMILY_BACKUP_APPEND_ONLY=1``): backups skip
            ``forget --prune``, which such a server rejects; retention runs on the server side.
    """

    home: Path
    repository: str
    password_file: Path | None = None
    keep_last: int = Field(default=KEEP_LAST, ge=1)
    append_only: bool = False

    @property
    def key_file(self) -> Path:
        """Default key file ``<EMILY_HOME>.backup-key``: beside the home, never inside it.

        Outside the home so that losing the home (the disaster a backup is for) does not lose
        the key, and outside the snapshot because a key stored in the repository it opens is
        useless. A copy away from this machine is still the operator's job (ADR 0016).
        """
        return self.home.parent / f"{self.home.name}.backup-key"

    @property
    def legacy_key_file(self) -> Path:
        """Where releases before ADR 0016 generated the key (inside the home, not backed up)."""
        return self.home / "backup" / "restic-password"

    @classmethod
    def from_env(
        cls,
        home: Path | None = None,
        *,
        repository: str | None = None,
        password_file: Path | None = None,
        keep_last: int | None = None,
    ) -> BackupSettings:
        """Settings from the project's settings and the ``EMILY_BACKUP_*`` variables.

        The home comes from ``load_settings()`` (so ``home = ...`` in ``emily.toml`` counts, as
        for every other command); explicit arguments win over the variables.
        """
        if home is None:
            from emily.core.settings import load_settings

            home = load_settings().home
        resolved = home.expanduser().absolute()
        default_repo = str(resolved.parent / f"{resolved.name}.backups")
        repo = repository or os.environ.get("EMILY_BACKUP_REPO") or default_repo
        pw = (
            password_file
            or os.environ.get("EMILY_BACKUP_PASSWORD_FILE")
            or os.environ.get("RESTIC_PASSWORD_FILE")
        )
        append_only = os.environ.get("EMILY_BACKUP_APPEND_ONLY", "").lower() in ("1", "true", "yes")
        return cls(
            home=resolved,
            repository=repo,
            password_file=Path(pw).expanduser().absolute() if pw else None,
            keep_last=keep_last if keep_last is not None else _keep_last_from_env(),
            append_only=append_only,
        )


def _keep_last_from_env() -> int:
    raw = os.environ.get("EMILY_BACKUP_KEEP_LAST", "").strip()
    if not raw:
        return KEEP_LAST
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(
            f"EMILY_BACKUP_KEEP_LAST={raw!r} is invalid: expected a whole number of snapshots >= 1"
        )
    return int(raw)
