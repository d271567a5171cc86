"""The record a restore verification leaves in the home: ``backup/restore-verification.json``.

Why a record: ``emily report`` reads what commands left instead of re-running them, and a
verified restore (``emily restore``) or a drill (``emily report --drill``) is exactly the figure
"restore verification" reports. Without a record the report says "not measured" right after a
verified restore. The record lives in ``backup/``, the home's restore bookkeeping, which backups
skip and a restore carries over to the restored home.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationError

from emily.core import SovereignModel

RESTORE_RECORD = ("backup", "restore-verification.json")
"""Where the last restore verification is recorded, under EMILY_HOME."""


class RestoreRecord(SovereignModel):
    """One restore verification: which snapshot, when, and how it compared to its manifest.

    Attributes:
        snapshot_id: The restic snapshot that was restored and verified.
        verified_at: When the verification finished (from the caller's clock).
        stores: Stores compared against the snapshot's manifest.
        mismatches: Differences found (0: the restore is faithful).
        by: Which command verified it.
    """

    snapshot_id: str = Field(min_length=1)
    verified_at: AwareDatetime
    stores: int = Field(ge=0)
    mismatches: int = Field(ge=0)
    by: Literal["emily restore", "emily report --drill"]

    @property
    def ok(self) -> bool:
        """True when every store matched its manifest record."""
        return self.mismatches == 0


def restore_record_path(home: Path) -> Path:
    """``EMILY_HOME/backup/restore-verification.json``."""
    return home.joinpath(*RESTORE_RECORD)


def write_restore_record(home: Path, record: RestoreRecord) -> Path:
    """Replace the home's record with ``record`` (atomically: a reader never sees half of it)."""
    path = restore_record_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".restore-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(record.model_dump_json(indent=2))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_restore_record(home: Path) -> RestoreRecord | None:
    """The home's last restore verification, or ``None`` when none (or an unreadable one) exists."""
    try:
        return RestoreRecord.model_validate_json(restore_record_path(home).read_text("utf-8"))
    except (OSError, ValidationError):
        return None


def _iso(stamp: datetime) -> str:
    return stamp.isoformat(timespec="seconds")


def describe(record: RestoreRecord) -> str:
    """One line for a report: who verified which snapshot, and when."""
    return f"{record.by}: snapshot {record.snapshot_id[:8]} verified at {_iso(record.verified_at)}"
