"""kill -9 in the middle of a backup: the repository stays valid and nothing earlier is lost."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emily.ops.backup import BackupSettings, Restic, backup, restore

pytestmark = pytest.mark.slow
BIG = 48 << 20  # incompressible bytes, so restic is still uploading when it is killed


def _wait_gone(pgid: int) -> None:
    """Wait until every process of the killed group (restic too) is gone and reaped.

    restic treats a lock as stale only once its process no longer exists, so ``unlock`` right
    after kill -9 can still see the dying process.
    """
    for _ in range(1000):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    pytest.fail(f"process group {pgid} survived kill -9")


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's EMILY_HOME (from tests/conftest.py)."""
    return _isolated_home


def test_kill9_mid_backup_keeps_repository_valid(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("restic") is None:
        pytest.fail("restic is missing: apt-get install -y restic (scripts/setup.sh test does)")
    monkeypatch.setenv("RESTIC_PASSWORD", "test-only")
    (home / "ops").mkdir(parents=True)
    con = sqlite3.connect(home / "ops" / "decisions.db")
    con.execute("CREATE TABLE t (i INTEGER)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(20)])
    con.commit()
    con.close()
    settings = BackupSettings.from_env()
    first = backup(settings)
    (home / "big.bin").write_bytes(os.urandom(BIG))
    locks = Path(settings.repository) / "locks"

    child = subprocess.Popen(
        [sys.executable, "-c", "from emily.ops.backup import backup; backup()"],
        start_new_session=True,
        env=dict(os.environ),
    )
    try:
        while child.poll() is None and not any(locks.iterdir()):
            time.sleep(0.01)  # tests may wait on the real clock; src/emily may not
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        _wait_gone(child.pid)
    assert child.returncode == -signal.SIGKILL, "the backup finished before it could be killed"

    restic = Restic(settings)
    restic.ensure_repository()  # clears the dead run's stale lock, nothing else
    restic.check(read_data=True)
    (home / "big.bin").unlink()

    restored = restore(settings, snapshot=first.snapshot_id)

    assert restored.report.ok
    con = sqlite3.connect(home / "ops" / "decisions.db")
    assert con.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 20
    con.close()
    assert backup(settings).checked  # the next backup succeeds on the same repository
