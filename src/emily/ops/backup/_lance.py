"""LanceDB folders: each table copied at a pinned version, verified by row count and content.

Why a pinned version and not an export: a LanceDB table is a chain of immutable data files plus
one manifest per version, so the files of version ``v`` never change once ``v`` is committed.
Reading ``table.version`` pins the snapshot point; copying the table folder after that gets
every file ``v`` needs (later writers only add files). If a writer committed after the pin, the
staged copy is rolled back to ``v`` with ``checkout(v)`` + ``restore()``, so the restored table
opens at exactly the pinned content, indexes and history included.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from emily.ops.backup._models import StoreRecord
from emily.ops.backup._snapshotters import file_checksums

_SUFFIX = ".lance"


def _tables(folder: Path) -> list[str]:
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.glob(f"*{_SUFFIX}") if p.is_dir())


def _copy_if_present(src: str, dst: str) -> str:
    """``shutil.copy2``, except that a file gone since its folder was listed is skipped.

    A live table's writer creates and removes temporary files (``_transactions/.tmp*``) while
    the folder is copied; they belong to no committed version, so the pinned one never needs
    them. A committed file that vanished would make the roll-back or ``describe`` fail, which
    reports the table unreadable: nothing is hidden by skipping here.
    """
    try:
        return str(shutil.copy2(src, dst))
    except FileNotFoundError:
        return dst


def _copy_live_tree(src: Path, dst: Path) -> None:
    """``shutil.copytree`` of a folder that writers change meanwhile (files only ever vanish
    or appear; see :func:`_copy_if_present`)."""
    try:
        shutil.copytree(src, dst, copy_function=_copy_if_present)
    except shutil.Error as exc:  # a sub-folder listed, then removed: the same case
        real = [e for e in exc.args[0] if not _vanished(e)]
        if real:
            raise shutil.Error(real) from None


def _vanished(error: Any) -> bool:
    """Whether one of ``copytree``'s collected errors is a path that no longer exists."""
    source = error[0] if isinstance(error, tuple) and error else None
    return isinstance(source, str) and not Path(source).exists()


def content_digest(table: Any) -> tuple[int, str]:
    """Row count and an order-independent sha256 of a table's rows (at its checked-out version).

    Each row is hashed on its own and the sorted row digests are hashed together, because
    LanceDB does not promise a row order across compaction or copies.
    """
    rows = table.to_arrow().to_pylist()
    row_digests = sorted(hashlib.sha256(repr(sorted(r.items())).encode()).digest() for r in rows)
    return len(rows), hashlib.sha256(b"".join(row_digests)).hexdigest()


class LanceDBSnapshotter:
    """A folder of LanceDB tables (``HOME/lancedb``: reflexive and semantic memory)."""

    kind = "lancedb"

    def claims(self, path: Path) -> bool:
        """A folder holding at least one ``*.lance`` table folder."""
        return path.is_dir() and bool(_tables(path))

    def snapshot(self, source: Path, staged: Path) -> StoreRecord:
        """Pin each table's version, copy its folder, roll the copy back to the pin."""
        import lancedb

        staged.mkdir(parents=True, exist_ok=True)
        db = lancedb.connect(str(source))
        pinned: dict[str, int] = {}
        for name in _tables(source):
            pinned[name] = int(db.open_table(name).version)
            _copy_live_tree(source / f"{name}{_SUFFIX}", staged / f"{name}{_SUFFIX}")
        for other in source.iterdir():
            if not other.name.endswith(_SUFFIX):
                dst = staged / other.name
                if other.is_dir():
                    _copy_live_tree(other, dst)
                else:
                    _copy_if_present(str(other), str(dst))
        staged_db = lancedb.connect(str(staged))
        for name, version in pinned.items():
            table = staged_db.open_table(name)
            if int(table.version) != version:
                table.checkout(version)
                table.restore()
        record = self.describe(staged, "")
        return record.model_copy(update={"versions": pinned})

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
