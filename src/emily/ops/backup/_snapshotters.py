"""Snapshotters: one small class per engine kind, each staging a store by its own safe method.

A snapshotter answers three questions about a path under EMILY_HOME: is this mine
(``claims``), copy it consistently into a staging folder (``snapshot``), and what are its
figures (``describe``, run on the staged copy at backup time and on the restored copy at verify
time; the two must agree). Restore needs no engine: every snapshotter stages the engine's own
on-disk format, so putting the files back is the restore.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Protocol

from emily.ops.backup._models import StoreRecord

_SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_checksums(root: Path) -> dict[str, str]:
    """sha256 of every regular file under ``root`` (or of ``root`` itself if it is a file)."""
    if root.is_file():
        return {root.name: sha256_file(root)}
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


class Snapshotter(Protocol):
    """Stages one kind of store and describes it; see the module docstring."""

    kind: str

    def claims(self, path: Path) -> bool:
        """True if ``path`` (a file or folder under EMILY_HOME) is a store of this kind."""

    def snapshot(self, source: Path, staged: Path) -> StoreRecord:
        """Copy ``source`` consistently to ``staged``; return the staged copy's record."""

    def describe(self, staged: Path, rel: str) -> StoreRecord:
        """Figures of a staged (or restored) copy at ``staged``, recorded under ``rel``."""


def is_sqlite(path: Path) -> bool:
    """True for a file that starts with the SQLite header."""
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC


class SQLiteSnapshotter:
    """SQLite databases (MLflow, the decision ledger, DBOS): the online backup API.

    ``Connection.backup`` copies a transactionally consistent image even while another process
    writes (it restarts the copy if a writer changes pages mid-way), and folds a WAL in, so
    the staged file is one self-contained database. Verified by ``PRAGMA integrity_check`` and
    per-table row counts.
    """

    kind = "sqlite"

    def claims(self, path: Path) -> bool:
        """Any file with the SQLite header."""
        return is_sqlite(path)

    def snapshot(self, source: Path, staged: Path) -> StoreRecord:
        """Online backup of ``source`` into a fresh file at ``staged``."""
        staged.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
        dst = sqlite3.connect(staged)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        return self.describe(staged, "")

    def describe(self, staged: Path, rel: str) -> StoreRecord:
        """Integrity check (``integrity_ok`` 1/0), row count per table, file checksum."""
        counts: dict[str, int] = {}
        con = sqlite3.connect(f"file:{staged}?mode=ro", uri=True)
        try:
            try:
                ok = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                tables = [
                    r[0]
                    for r in con.execute(
                        "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
                    )
                ]
                for t in tables:
                    quoted = '"' + t.replace('"', '""') + '"'
                    counts[f"rows:{t}"] = int(
                        con.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0]
                    )
            except sqlite3.DatabaseError:
                ok = False
        finally:
            con.close()
        counts["integrity_ok"] = int(ok)
        return StoreRecord(path=rel, kind=self.kind, files=file_checksums(staged), counts=counts)
