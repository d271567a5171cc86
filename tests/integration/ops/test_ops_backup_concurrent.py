"""A backup taken while writers run loses no completed write and restores consistently.

The writers run under load (CPU-burning processes beside them) and the LanceDB snapshot is
repeated many times while reflexes are learned: the copier once assumed writers only add
files and failed on a ``_transactions/.tmp*`` file that vanished mid-copy, so every repeat is a
fresh chance for that race.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from emily.instinct import LanceDBReflexStore, ReflexMemory
from emily.ops.backup import BackupSettings, LanceDBSnapshotter, backup, restore

pytestmark = pytest.mark.slow
DIM = 256
REPEATS = 15
BURNERS = 2


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's EMILY_HOME (from tests/conftest.py)."""
    return _isolated_home


@pytest.fixture
def load() -> Iterator[None]:
    """CPU-burning processes, so writers and the copier are preempted at odd moments."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BURNERS)]
    try:
        yield
    finally:
        for proc in burners:
            proc.kill()
            proc.wait(timeout=60)


class _Writers:
    """Learns reflexes and inserts SQLite rows in a thread until stopped."""

    def __init__(self, home: Path) -> None:
        self.db = home / "ops" / "decisions.db"
        self.db.parent.mkdir(parents=True)
        self.con = sqlite3.connect(self.db, check_same_thread=False)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("CREATE TABLE t (i INTEGER)")
        self.con.commit()
        self.memory = ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM))
        self.learned: list[str] = []
        self.rows = 0
        self.stop = threading.Event()
        self.enough = threading.Event()
        self.thread = threading.Thread(target=self._write)

    def _write(self) -> None:
        rng = np.random.default_rng(3)
        while not self.stop.is_set():
            code = rng.integers(0, 256, DIM // 8, dtype=np.uint8)
            self.learned.append(self.memory.learn(code, "r"))
            self.con.execute("INSERT INTO t VALUES (?)", (self.rows,))
            self.con.commit()
            self.rows += 1
            if len(self.learned) >= 5:
                self.enough.set()

    def after_next_write(self) -> set[str]:
        """Every id learned so far, once one more learn has returned: a commit that landed
        before now but whose ``learn`` had not yet returned is then in the list too."""
        seen = len(self.learned)
        while len(self.learned) <= seen:
            assert self.thread.is_alive()
            time.sleep(0.01)  # tests may wait on the real clock
        return set(self.learned)

    def __enter__(self) -> _Writers:
        self.thread.start()
        assert self.enough.wait(timeout=300)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=300)
        self.con.close()


@pytest.mark.usefixtures("load")
def test_lancedb_snapshots_under_load_are_each_one_committed_version(
    home: Path, tmp_path: Path
) -> None:
    home.mkdir()
    with _Writers(home) as writers:
        for i in range(REPEATS):
            before = set(writers.learned)
            record = LanceDBSnapshotter().snapshot(home / "lancedb", tmp_path / f"s{i}")
            during = writers.after_next_write()
            staged = LanceDBReflexStore(tmp_path / f"s{i}", DIM)
            ids = set(ReflexMemory(DIM, store=staged).ids())
            assert before <= ids <= during, i
            assert record.counts["readable:reflexive_memory"] == 1
            assert record.counts["rows:reflexive_memory"] == len(ids)
            shutil.rmtree(tmp_path / f"s{i}")


@pytest.mark.usefixtures("load")
def test_backup_during_writes_restores_every_completed_write(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("restic") is None:
        pytest.fail("restic is missing: apt-get install -y restic (scripts/setup.sh test does)")
    monkeypatch.setenv("RESTIC_PASSWORD", "test-only")
    home.mkdir()
    with _Writers(home) as writers:
        before, rows_before = list(writers.learned), writers.rows
        result = backup(BackupSettings.from_env())
    lance = next(s for s in result.manifest.stores if s.kind == "lancedb")
    assert lance.versions["reflexive_memory"] >= 1
    during, rows_during = set(writers.learned), writers.rows

    restored = restore(BackupSettings.from_env())

    assert restored.report.ok, restored.report.mismatches
    back = set(ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM)).ids())
    assert set(before) <= back <= during
    check = sqlite3.connect(writers.db)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert rows_before <= check.execute("SELECT COUNT(*) FROM t").fetchone()[0] <= rows_during
    check.close()
