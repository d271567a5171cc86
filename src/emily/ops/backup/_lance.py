"""LanceDB folders: each table staged at a pinned version, proved equal to it through Lance.

Why a file copy checked through Lance, not an export: a table is a chain of immutable data,
deletion and index files plus one manifest per version; copying the files keeps the indexes
(an export would drop ``idx_hdc_reflex`` and the semantic index). What makes the copy right
by construction, with writers running:

1. Pin: open the table and read ``version`` ``v``; every file ``v`` references was committed
   before the pin and never changes again.
2. List the table folder *after* the pin (``os.walk``): the listing holds every file of ``v``.
3. Copy the listed files. A listed file that is gone by the time it is copied (a writer's
   ``_transactions/.tmp*``, an aborted write) is not one ``v`` references, by 1; the only way a
   file of ``v`` can vanish is a cleanup of old versions (``optimize``) removing ``v`` itself.
4. Roll the copy back to ``v`` (``checkout(v)`` + ``restore()``) and prove it: its rows and
   index names must equal the live table's read *at* ``v`` (Lance's own snapshot isolation).
   If they differ (case 3's cleanup), the table is pinned again and copied again.

Files of later versions or of writes in flight may ride along; the staged table never reads
them, and the manifest's checksums cover them like any file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from emily.core import EmilyError
from emily.ops.backup._models import StoreRecord
from emily.ops.backup._snapshotters import file_checksums

_SUFFIX = ".lance"
ATTEMPTS = 5  # re-pins after a cleanup removed the pinned version mid-copy


def _tables(folder: Path) -> list[str]:
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.glob(f"*{_SUFFIX}") if p.is_dir())


def _listing(folder: Path) -> list[Path]:
    """Every file under ``folder`` now (a sub-folder removed while walking is skipped)."""
    return sorted(Path(root) / f for root, _, files in os.walk(folder) for f in files)


def _copy_listed(files: list[Path], source: Path, staged: Path) -> None:
    """Copy each listed file; one gone since the listing is skipped (see the module docstring,
    step 3: the pinned version never references it, and step 4 proves that)."""
    for path in files:
        dst = staged / path.relative_to(source)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(path, dst)
        except FileNotFoundError:
            continue


def content_digest(table: Any) -> tuple[int, str]:
    """Row count and an order-independent sha256 of a table's rows (at its checked-out version).

    Each row is hashed on its own and the sorted row digests are hashed together, because
    LanceDB does not promise a row order across compaction or copies.
    """
    rows = table.to_arrow().to_pylist()
    row_digests = sorted(hashlib.sha256(repr(sorted(r.items())).encode()).digest() for r in rows)
    return len(rows), hashlib.sha256(b"".join(row_digests)).hexdigest()


def _fingerprint(table: Any) -> tuple[int, str, list[str]]:
    """What must match between the live table at ``v`` and its staged copy."""
    n, digest = content_digest(table)
    return n, digest, sorted(str(i.name) for i in table.list_indices())


class LanceDBSnapshotter:
    """A folder of LanceDB tables (``HOME/lancedb``: reflexive and semantic memory)."""

    kind = "lancedb"

    def claims(self, path: Path) -> bool:
        """A folder holding at least one ``*.lance`` table folder."""
        return path.is_dir() and bool(_tables(path))

    def snapshot(self, source: Path, staged: Path) -> StoreRecord:
        """Stage every table at a pinned version (module docstring), then the other files."""
        staged.mkdir(parents=True, exist_ok=True)
        pinned = {name: self._stage_table(source, staged, name) for name in _tables(source)}
        for other in sorted(source.iterdir()):
            if not other.name.endswith(_SUFFIX):  # not a table: nothing writes it while live
                dst = staged / other.name
                if other.is_dir():
                    shutil.copytree(other, dst)
                else:
                    shutil.copy2(other, dst)
        record = self.describe(staged, "")
        return record.model_copy(update={"versions": pinned})

    def _stage_table(self, source: Path, staged: Path, name: str) -> int:
        """Pin, list, copy, roll back, prove equal; re-pin if a cleanup raced (up to ATTEMPTS)."""
        import lancedb

        live_db = lancedb.connect(str(source))
        folder = f"{name}{_SUFFIX}"
        for _ in range(ATTEMPTS):
            live = live_db.open_table(name)
            version = int(live.version)
            live.checkout(version)
            files = _listing(source / folder)
            try:
                expected = _fingerprint(live)
            except (ValueError, OSError, RuntimeError):  # v cleaned up under the reader
                continue
            shutil.rmtree(staged / folder, ignore_errors=True)
            _copy_listed(files, source / folder, staged / folder)
            copy = lancedb.connect(str(staged)).open_table(name)
            try:
                if int(copy.version) != version:
                    copy.checkout(version)
                    copy.restore()
                if _fingerprint(copy) == expected:
                    return version
            except (ValueError, OSError, RuntimeError):  # a file of v was cleaned up mid-copy
                continue
        raise EmilyError(
            f"LanceDB table {source / folder} could not be staged at a pinned version in "
            f"{ATTEMPTS} attempts (old versions cleaned up while copying?); run emily backup again"
        )

    def describe(self, staged: Path, rel: str) -> StoreRecord:
        """Row count and content digest per table at its latest version, plus file checksums."""
        import lancedb

        db = lancedb.connect(str(staged))
        counts: dict[str, int] = {}
        digests: dict[str, str] = {}
        for name in _tables(staged):
            try:
                n, digest = content_digest(db.open_table(name))
            except (ValueError, OSError, RuntimeError):  # a damaged file: report, do not crash
                counts[f"readable:{name}"] = 0
                continue
            counts[f"readable:{name}"] = 1
            counts[f"rows:{name}"] = n
            digests[name] = digest
        return StoreRecord(
            path=rel, kind=self.kind, files=file_checksums(staged), counts=counts, digests=digests
        )
