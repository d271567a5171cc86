"""A backup taken while writers run loses no completed write and restores consistently."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from emily.instinct import LanceDBReflexStore, ReflexMemory
from emily.ops.backup import BackupSettings, backup, restore

pytestmark = pytest.mark.slow
DIM = 256


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's EMILY_HOME (from tests/conftest.py)."""
    return _isolated_home


def test_backup_during_writes_restores_every_completed_write(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("restic") is None:
        pytest.fail("restic is missing: apt-get install -y restic (scripts/setup.sh test does)")
    monkeypatch.setenv("RESTIC_PASSWORD", "test-only")
    home.mkdir()
    db = home / "ops" / "decisions.db"
    db.parent.mkdir()
    con = sqlite3.connect(db, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (i INTEGER)")
    con.commit()
    memory = ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM))
    learned: list[str] = []
    rows = [0]
    stop = threading.Event()
    enough = threading.Event()

    def write() -> None:
        rng = np.random.default_rng(3)
        while not stop.is_set():
            learned.append(memory.learn(rng.integers(0, 256, DIM // 8, dtype=np.uint8), "r"))
            con.execute("INSERT INTO t VALUES (?)", (rows[0],))
            con.commit()
            rows[0] += 1
            if len(learned) >= 5:
                enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert enough.wait(timeout=120)
        before, rows_before = list(learned), rows[0]
        result = backup(BackupSettings.from_env())
    finally:
        stop.set()
        writer.join()
        con.close()
    lance = next(s for s in result.manifest.stores if s.kind == "lancedb")
    pinned = lance.versions["reflexive_memory"]
    assert pinned >= 1
    during = set(learned)

    restored = restore(BackupSettings.from_env())

    assert restored.report.ok, restored.report.mismatches
    back = set(ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM)).ids())
    assert set(before) <= back <= during
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert rows_before <= check.execute("SELECT COUNT(*) FROM t").fetchone()[0] <= rows[0]
    check.close()
