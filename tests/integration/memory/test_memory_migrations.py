"""Migrations: up/down/verify round-trips, the ledger, no-op re-runs, rollback on failure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from emily.core import InputError
from emily.core.settings import EmilySettings
from emily.memory import MigrationContext, MigrationError, Migrator, SemanticRecord
from emily.memory._lance import connect_lance
from emily.memory.embedding import HashTextEmbedder
from emily.memory.migrations import default_migrations_dir, load_migrations
from emily.memory.semantic import V2, SemanticMemory


@pytest.fixture
def ctx(settings: EmilySettings, hash_embedders: dict[str, HashTextEmbedder]) -> MigrationContext:
    return MigrationContext(
        settings=settings.model_copy(update={"hdc_dim": 512}),
        db=connect_lance(settings),
        semantic_factory=lambda db: SemanticMemory(db, embedders=hash_embedders),
    )


def seed(ctx: MigrationContext, n: int = 30) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ctx.semantic.add(
        [SemanticRecord(id=f"r{i}", kind="k", text=f"t\u00a0{i}", created_at=now) for i in range(n)]
    )


def test_shipped_migrations_round_trip(ctx: MigrationContext) -> None:
    seed(ctx)
    migrator = Migrator(ctx)
    assert [m.id for m in migrator.migrations] == ["001", "002"]
    assert [s.applied for s in migrator.status()] == [False, False]
    assert migrator.up(target="001") == ["001"]
    assert migrator.up() == ["002"]
    assert migrator.up() == []  # re-running is a no-op
    assert migrator.verify() == {"001": True, "002": True}
    status = migrator.status()
    assert all(s.applied and s.applied_at is not None and not s.changed for s in status)
    assert ctx.semantic.state().read_scheme == V2
    assert ctx.semantic.count() == 30
    assert migrator.down() == ["002"]
    assert migrator.verify() == {"001": True}
    assert ctx.semantic.search("t 3", 1)[0].record.id == "r3"
    assert migrator.down(steps=5) == ["001"]
    assert migrator.verify() == {}
    assert migrator.down() == []
    assert migrator.up() == ["001", "002"]
    with pytest.raises(InputError):
        migrator.down(steps=0)


def write(folder: Path, name: str, verify: str = "True", up: str = "pass") -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(
        "DESCRIPTION = 'test'\n"
        "LOG = []\n"
        f"def up(ctx):\n    LOG.append('up')\n    {up}\n"
        "def down(ctx):\n    ctx.settings.home.joinpath('downs').mkdir(exist_ok=True)\n"
        f"    ctx.settings.home.joinpath('downs', __name__).touch()\n"
        f"def verify(ctx):\n    return {verify}\n"
    )


def test_failing_verify_rolls_back_and_leaves_ledger(ctx: MigrationContext, tmp_path: Path) -> None:
    folder = tmp_path / "mig"
    write(folder, "001_ok.py")
    write(folder, "002_bad.py", verify="False")
    write(folder, "003_never.py")
    (folder / "README.txt").write_text("ignored")
    migrator = Migrator(ctx, folder)
    with pytest.raises(MigrationError, match="did not verify"):
        migrator.up()
    assert [s.applied for s in migrator.status()] == [True, False, False]
    assert (ctx.settings.home / "downs" / "emily_migration_002_bad").exists()


def test_raising_up_rolls_back(ctx: MigrationContext, tmp_path: Path) -> None:
    folder = tmp_path / "mig"
    write(folder, "001_boom.py", up="raise RuntimeError('boom')")
    with pytest.raises(MigrationError, match="boom"):
        Migrator(ctx, folder).up()
    assert not Migrator(ctx, folder).applied()


def test_failed_rollback_is_reported(ctx: MigrationContext, tmp_path: Path) -> None:
    folder = tmp_path / "mig"
    folder.mkdir()
    (folder / "001_x.py").write_text(
        "def up(ctx): pass\n"
        "def down(ctx): raise RuntimeError('stuck')\n"
        "def verify(ctx): return False\n"
    )
    with pytest.raises(MigrationError, match="so did its rollback"):
        Migrator(ctx, folder).up()


def test_changed_file_is_reported(ctx: MigrationContext, tmp_path: Path) -> None:
    folder = tmp_path / "mig"
    write(folder, "001_ok.py")
    migrator = Migrator(ctx, folder)
    migrator.up()
    (folder / "001_ok.py").write_text((folder / "001_ok.py").read_text() + "\n# edited\n")
    again = Migrator(ctx, folder)
    assert again.status()[0].changed
    assert again.verify() == {"001": False}


def test_bad_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_migrations(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "001_x.py").write_text("def up(ctx): pass\n")
    with pytest.raises(InputError, match="lacks a callable down"):
        load_migrations(tmp_path / "a")
    (tmp_path / "b").mkdir()
    for name in ("001_x.py", "001_y.py"):
        (tmp_path / "b" / name).write_text(
            "def up(c): pass\ndef down(c): pass\ndef verify(c): return True\n"
        )
    with pytest.raises(InputError, match="duplicate"):
        load_migrations(tmp_path / "b")
    assert default_migrations_dir().name == "migrations"
