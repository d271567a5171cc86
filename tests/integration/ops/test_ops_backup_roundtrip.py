"""Backup -> wipe -> restore -> verify against the real engines and a real restic repository."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from emily.cli.backup_commands import register_backup_commands
from emily.core import ManualClock
from emily.instinct import LanceDBReflexStore, ReflexMemory
from emily.ops.backup import (
    BackupSettings,
    Restic,
    RestoreVerificationError,
    SQLiteSnapshotter,
    StoreRecord,
    backup,
    restore,
    verify_tree,
)

pytestmark = pytest.mark.slow
DIM = 256


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's EMILY_HOME (from tests/conftest.py)."""
    return _isolated_home


@pytest.fixture(autouse=True)
def _restic_present(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("restic") is None:
        pytest.fail("restic is missing: apt-get install -y restic (scripts/setup.sh test does)")
    monkeypatch.delenv("RESTIC_PASSWORD", raising=False)
    monkeypatch.delenv("RESTIC_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("EMILY_BACKUP_REPO", raising=False)


def _reflexes(home: Path, n: int) -> list[str]:
    memory = ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM))
    rng = np.random.default_rng(7)
    return [memory.learn(rng.integers(0, 256, DIM // 8, dtype=np.uint8), f"r{i}") for i in range(n)]


def _sqlite(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE decisions (id INTEGER PRIMARY KEY, why TEXT)")
    con.executemany("INSERT INTO decisions (why) VALUES (?)", [(f"w{i}",) for i in range(rows)])
    con.commit()
    con.close()


def _episodes(home: Path) -> int | None:
    """Seven episodes in the embedded FalkorDB; None when the episodic store is unavailable."""
    try:
        from emily.core.settings import EmilySettings
        from emily.memory.episodic import open_episodic
        from emily.memory.models import Episode
    except ImportError:
        return None
    memory = open_episodic(EmilySettings(home=home))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    memory.record_episodes(
        Episode(id=f"e{i}", timestamp=when, stimulus=f"s{i % 3}", response="r") for i in range(7)
    )
    count = memory.count()
    memory.close()
    return count


def _home(home: Path) -> tuple[list[str], int | None]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "flags.yaml").write_text("flags: {}\n")
    (home / "mlflow" / "artifacts" / "run1").mkdir(parents=True)
    (home / "mlflow" / "artifacts" / "run1" / "model.bin").write_bytes(bytes(range(256)) * 4)
    _sqlite(home / "mlflow" / "mlflow.db", 12)
    _sqlite(home / "ops" / "decisions.db", 5)
    return _reflexes(home, 6), _episodes(home)


def test_roundtrip_restores_identical_stores(home: Path) -> None:
    ids, episodes = _home(home)
    settings = BackupSettings.from_env()
    assert not settings.repository.startswith(str(home) + "/")

    result = backup(settings, clock=ManualClock())

    kinds = {s.path: s.kind for s in result.manifest.stores}
    assert kinds["lancedb"] == "lancedb"
    assert kinds["mlflow/mlflow.db"] == "sqlite"
    assert kinds["ops/decisions.db"] == "sqlite"
    assert kinds["."] == "files"
    key = settings.key_file  # outside the home: losing the home keeps it (ADR 0016)
    assert result.key_created
    assert result.key_file == str(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (home / "backup" / "restic-password").exists()
    shutil.rmtree(home)
    home.mkdir()

    restored = restore(settings, snapshot=result.snapshot_id, clock=ManualClock())

    assert restored.report.ok
    assert restored.report.stores == len(result.manifest.stores)
    assert restored.previous_home is not None
    assert Path(restored.previous_home).is_dir()
    back = ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM))
    assert sorted(back.ids()) == sorted(ids)
    con = sqlite3.connect(home / "ops" / "decisions.db")
    assert con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 5
    con.close()
    assert (home / "mlflow" / "artifacts" / "run1" / "model.bin").read_bytes() == bytes(
        range(256)
    ) * 4
    if episodes is None:
        pytest.skip("emily.memory.episodic not importable: graph part of the round trip skipped")
    record = next(s for s in result.manifest.stores if s.kind == "falkordb")
    assert record.counts["nodes:emily_episodic:Episode"] == 7
    assert _episode_count(home) == episodes


def _episode_count(home: Path) -> int:
    from emily.core.settings import EmilySettings
    from emily.memory.episodic import open_episodic

    memory = open_episodic(EmilySettings(home=home))
    count = memory.count()
    memory.close()
    return count


def test_flipped_byte_in_restored_copy_is_reported(home: Path, tmp_path: Path) -> None:
    _sqlite(home / "ops" / "decisions.db", 3)
    _reflexes(home, 2)
    settings = BackupSettings.from_env()
    backup(settings)
    _, root = Restic(settings).restore("latest", tmp_path / "out")
    assert verify_tree(root).ok
    victim = next((root / "lancedb").rglob("*.lance"))
    victim = next(p for p in victim.rglob("*") if p.is_file() and p.suffix == ".lance")
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))

    report = verify_tree(root)

    assert not report.ok
    assert any(m.store == "lancedb" and m.what.startswith("file ") for m in report.mismatches)


class _LyingSQLite(SQLiteSnapshotter):
    """Describes every restored database with one row too many: a verification must fail."""

    def describe(self, staged: Path, rel: str) -> StoreRecord:
        record = super().describe(staged, rel)
        return record.model_copy(update={"counts": {**record.counts, "rows:decisions": 999}})


def test_failed_verification_leaves_live_home_untouched(home: Path) -> None:
    _sqlite(home / "ops" / "decisions.db", 3)
    settings = BackupSettings.from_env()
    backup(settings)
    (home / "flags.yaml").write_text("live: true\n")

    with pytest.raises(RestoreVerificationError, match="rows:decisions"):
        restore(settings, snapshotters=[_LyingSQLite()])

    assert (home / "flags.yaml").read_text() == "live: true\n"


def test_two_backups_the_same_day_both_survive_retention(home: Path) -> None:
    home.mkdir()
    (home / "flags.yaml").write_text("a: 1\n")
    settings = BackupSettings.from_env()
    first = backup(settings)
    (home / "flags.yaml").write_text("a: 2\n")
    second = backup(settings)

    kept = [str(s["id"]) for s in Restic(settings).snapshots()]

    # keep-daily alone kept one per day, so the afternoon backup deleted the morning one
    assert len(kept) == 2
    assert kept[0].startswith(first.snapshot_id)
    assert kept[1].startswith(second.snapshot_id)
    assert first.checked
    assert second.checked


def test_keep_last_bounds_same_day_snapshots(home: Path) -> None:
    home.mkdir()
    settings = BackupSettings.from_env(keep_last=2)
    made = []
    for i in range(3):
        (home / "flags.yaml").write_text(f"a: {i}\n")
        made.append(backup(settings).snapshot_id)

    kept = [str(s["id"]) for s in Restic(settings).snapshots()]

    assert len(kept) == 2
    assert kept[0].startswith(made[1])
    assert kept[1].startswith(made[2])


def test_cli_backup_and_restore(home: Path, tmp_path: Path) -> None:
    _sqlite(home / "ops" / "decisions.db", 4)
    app = typer.Typer()
    register_backup_commands(app)
    repo = str(tmp_path / "elsewhere")
    runner = CliRunner()

    made = runner.invoke(app, ["backup", "--repo", repo])
    assert made.exit_code == 0, made.output
    assert "sqlite" in made.output
    assert "rows:decisions=4" in made.output

    back = runner.invoke(app, ["restore", "latest", "--repo", repo, "--verify", "--json"])
    assert back.exit_code == 0, back.output
    assert '"mismatches": []' in back.output
    assert (Path(repo) / "config").is_file()
