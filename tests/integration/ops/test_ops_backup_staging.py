"""Staging and verification without restic: discovery, snapshotters, manifest, mismatches."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from emily.core import ConfigError, InputError, ManualClock
from emily.instinct import LanceDBReflexStore, ReflexMemory
from emily.ops.backup import (
    MANIFEST_NAME,
    BackupKeyError,
    BackupManifest,
    BackupSettings,
    FalkorDBSnapshotter,
    LanceDBSnapshotter,
    Restic,
    ResticError,
    SQLiteSnapshotter,
    backup,
    default_snapshotters,
    discover,
    stage,
    verify_tree,
)

DIM = 64


def _db(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE "odd ""name""" (x)')
    con.executemany('INSERT INTO "odd ""name""" VALUES (?)', [(i,) for i in range(rows)])
    con.commit()
    con.close()


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    h = _isolated_home
    (h / "backup").mkdir(parents=True)
    (h / "backup" / "restic-password").write_text("secret\n")
    (h / "flags.yaml").write_text("a: 1\n")
    (h / "falkordb").mkdir()
    (h / "falkordb" / "falkordb.sock").write_text("")
    _db(h / "ops" / "decisions.db", 3)
    (h / "ops" / "decisions.db-wal").write_bytes(b"")
    memory = ReflexMemory(DIM, store=LanceDBReflexStore(h / "lancedb", DIM))
    rng = np.random.default_rng(1)
    for i in range(3):
        memory.learn(rng.integers(0, 256, DIM // 8, dtype=np.uint8), f"r{i}")
    (h / "lancedb" / "notes.txt").write_text("beside the tables\n")
    return h


def test_settings_default_repository_is_beside_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMILY_BACKUP_REPO", raising=False)
    monkeypatch.setenv("RESTIC_PASSWORD_FILE", "/keys/pw")
    settings = BackupSettings.from_env(Path("/data/emily"))
    assert settings.repository == "/data/emily.backups"
    assert settings.password_file == Path("/keys/pw")
    monkeypatch.setenv("EMILY_BACKUP_REPO", "s3:https://minio.local/emily")
    assert BackupSettings.from_env().repository == "s3:https://minio.local/emily"


def test_discover_routes_each_path_to_its_snapshotter(home: Path) -> None:
    stores, plain = discover(home, default_snapshotters())
    kinds = {p.relative_to(home).as_posix(): s.kind for p, s in stores}
    assert kinds == {"lancedb": "lancedb", "ops/decisions.db": "sqlite"}
    names = {p.relative_to(home).as_posix() for p in plain}
    assert names == {"flags.yaml"}  # password, socket and WAL side file are not data


def test_stage_then_verify_matches(home: Path, tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "leftover").write_text("from a killed run")

    manifest = stage(home, staged, ManualClock())

    assert not (staged / "leftover").exists()
    by_path = {s.path: s for s in manifest.stores}
    assert by_path["ops/decisions.db"].counts == {'rows:odd "name"': 3, "integrity_ok": 1}
    assert by_path["lancedb"].counts["rows:reflexive_memory"] == 3
    assert by_path["lancedb"].versions["reflexive_memory"] >= 1
    assert "notes.txt" in by_path["lancedb"].files
    assert by_path["."].files.keys() == {"flags.yaml"}
    loaded = BackupManifest.model_validate_json((staged / MANIFEST_NAME).read_text())
    assert loaded == manifest
    assert verify_tree(staged).ok


def test_verify_reports_each_kind_of_damage(home: Path, tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    stage(home, staged, ManualClock())
    (staged / "flags.yaml").unlink()
    (staged / "ops" / "decisions.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)

    report = verify_tree(staged)

    found = {(m.store, m.what) for m in report.mismatches}
    assert (".", "file flags.yaml") in found
    assert ("ops/decisions.db", "count integrity_ok") in found
    assert ("ops/decisions.db", 'count rows:odd "name"') in found
    gone = next(m for m in report.mismatches if m.what == "file flags.yaml")
    assert gone.found == "missing"


def test_verify_reports_a_missing_store_and_manifest(home: Path, tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    stage(home, staged, ManualClock())
    shutil.rmtree(staged / "lancedb")
    assert any(m.store == "lancedb" for m in verify_tree(staged).mismatches)
    (staged / MANIFEST_NAME).unlink()
    report = verify_tree(staged)
    assert not report.ok
    assert report.mismatches[0].what == "manifest"


def test_lancedb_copy_is_rolled_back_to_the_pinned_version(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lancedb

    from emily.ops.backup import _lance

    table = lancedb.connect(str(home / "lancedb")).open_table("reflexive_memory")
    pinned = int(table.version)
    real_listing = _lance._listing
    wrote: list[bool] = []

    def write_after_the_pin(folder: Path) -> list[Path]:
        if not wrote:  # a writer commits after the pin, before the folder is listed
            wrote.append(True)
            table.delete("true")
        return real_listing(folder)

    monkeypatch.setattr(_lance, "_listing", write_after_the_pin)
    record = LanceDBSnapshotter().snapshot(home / "lancedb", tmp_path / "lance")

    assert wrote
    assert table.count_rows() == 0
    assert record.versions == {"reflexive_memory": pinned}
    assert record.counts["rows:reflexive_memory"] == 3


def test_lancedb_copy_skips_a_writers_vanished_temporary_and_never_lists_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emily.ops.backup import _lance

    folder = home / "lancedb" / "reflexive_memory.lance"
    temporary = folder / "_transactions" / ".tmp-writer"
    temporary.parent.mkdir(exist_ok=True)
    temporary.write_bytes(b"in flight")
    real_copy2 = shutil.copy2

    def writer_finishes_first(src: Path, dst: Path) -> object:
        if Path(src) == temporary:
            temporary.unlink()  # the writer renames its temporary file away mid-copy
        return real_copy2(src, dst)

    monkeypatch.setattr(_lance.shutil, "copy2", writer_finishes_first)
    record = LanceDBSnapshotter().snapshot(home / "lancedb", tmp_path / "lance")

    assert not temporary.exists()
    assert record.counts["rows:reflexive_memory"] == 3
    assert "reflexive_memory.lance/_transactions/.tmp-writer" not in record.files


def test_lancedb_copy_missing_a_file_of_the_pinned_version_is_made_again(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cleanup that removes a data file of the pinned version mid-copy is caught and redone."""
    from emily.ops.backup import _lance

    real_copy = _lance._copy_listed
    attempts: list[int] = []

    def cleanup_races_the_first_copy(files: list[Path], source: Path, staged: Path) -> None:
        attempts.append(1)
        data = [f for f in files if f.parent.name == "data"]
        real_copy(
            [f for f in files if f not in data[:1]] if len(attempts) == 1 else files, source, staged
        )

    monkeypatch.setattr(_lance, "_copy_listed", cleanup_races_the_first_copy)
    record = LanceDBSnapshotter().snapshot(home / "lancedb", tmp_path / "lance")

    assert len(attempts) == 2
    assert record.counts["rows:reflexive_memory"] == 3


def test_claims() -> None:
    assert not SQLiteSnapshotter().claims(Path("/nonexistent.db"))
    assert not FalkorDBSnapshotter().claims(Path("/nonexistent/falkordb"))
    assert not LanceDBSnapshotter().claims(Path("/nonexistent"))


def test_missing_restic_fails_with_the_fix(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ResticError, match="apt-get install -y restic"):
        Restic(BackupSettings.from_env())


def test_restic_wrapper_reports_missing_summary_and_snapshot(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESTIC_PASSWORD", raising=False)
    monkeypatch.delenv("RESTIC_PASSWORD_FILE", raising=False)
    restic = Restic(BackupSettings.from_env())
    assert restic.env["RESTIC_PASSWORD_FILE"] == str(home / "backup" / "restic-password")
    assert (home / "backup" / "restic-password").read_text() == "secret\n"  # never overwritten
    monkeypatch.setattr(restic, "run", lambda *a, **k: '{"message_type": "status"}\n')
    with pytest.raises(ResticError, match="no summary"):
        restic.backup(home)
    monkeypatch.setattr(restic, "run", lambda *a, **k: "null")
    with pytest.raises(InputError, match="no Emily snapshot 'abc'"):
        restic.restore("abc", home)


def test_settings_read_the_home_from_emily_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "emily.toml"
    config.write_text(f'home = "{tmp_path / "from-toml"}"\n')
    monkeypatch.delenv("EMILY_HOME", raising=False)
    monkeypatch.setenv("EMILY_CONFIG", str(config))
    monkeypatch.delenv("EMILY_BACKUP_REPO", raising=False)

    settings = BackupSettings.from_env()

    assert settings.home == tmp_path / "from-toml"
    assert settings.repository == str(tmp_path / "from-toml.backups")
    assert settings.key_file == tmp_path / "from-toml.backup-key"


@pytest.fixture
def bare_home(_isolated_home: Path) -> Path:
    """This test's EMILY_HOME, not created."""
    return _isolated_home


def test_an_empty_home_is_not_backed_up(bare_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # restic is never reached
    with pytest.raises(ConfigError, match=r"nothing to back up: EMILY_HOME .* does not exist"):
        backup(BackupSettings.from_env())
    (bare_home / "backup").mkdir(parents=True)  # only what a backup skips
    with pytest.raises(ConfigError, match="holds no stores or files; expected the folder"):
        backup(BackupSettings.from_env())


def test_keep_last_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMILY_BACKUP_KEEP_LAST", "3")
    assert BackupSettings.from_env(Path("/data/emily")).keep_last == 3
    assert BackupSettings.from_env(Path("/data/emily"), keep_last=5).keep_last == 5
    monkeypatch.setenv("EMILY_BACKUP_KEEP_LAST", "zero")
    with pytest.raises(ConfigError, match="EMILY_BACKUP_KEEP_LAST='zero' is invalid"):
        BackupSettings.from_env(Path("/data/emily"))
    monkeypatch.delenv("EMILY_BACKUP_KEEP_LAST")
    assert BackupSettings.from_env(Path("/data/emily")).keep_last == 10


def test_no_key_is_one_line_saying_how_to_supply_it(
    bare_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "EMILY_BACKUP_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    restic = Restic(BackupSettings.from_env())
    assert not restic.has_key
    with pytest.raises(BackupKeyError, match="pass --password-file PATH") as missing:
        restic.require_key()
    assert "\n" not in str(missing.value)
    with pytest.raises(BackupKeyError, match="does not exist; expected the key file kept"):
        Restic(BackupSettings.from_env(password_file=bare_home / "nope"))
    assert not BackupSettings.from_env().key_file.exists()
