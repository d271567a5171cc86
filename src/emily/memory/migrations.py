"""Versioned store migrations: ``up``/``down``/``verify``, applied in order, recorded in a ledger.

A migration is one file in ``emily/_data/migrations/`` (shipped in the package, so a wheel has
them too) named ``NNN_name.py`` that defines
``DESCRIPTION``, ``up(ctx)``, ``down(ctx)`` and ``verify(ctx) -> bool``. The ledger
(LanceDB table ``schema_migrations``, beside the data it describes) holds each applied
migration's id, name, checksum (SHA-256 of the file) and time. ``up`` runs pending migrations
in id order and records each only after its ``verify`` passes; a failing ``verify`` (or an
exception) runs that migration's ``down`` and stops, so the store and ledger stay consistent.
Re-running is a no-op. Migrations themselves must be idempotent (a crash before the ledger write
re-runs ``up``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa

from emily._data import data_path
from emily.core import Clock, InputError, SovereignModel, system_clock
from emily.core.settings import EmilySettings
from emily.memory._lance import connect_lance, open_or_create, sql_literal
from emily.memory._time import from_micros, to_micros
from emily.memory.errors import MigrationError
from emily.memory.reflexive import ReflexIndexOps, reflex_index_ops
from emily.memory.semantic import SemanticMemory

LEDGER = "schema_migrations"
_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.py$")
_LEDGER_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("checksum", pa.string()),
        pa.field("applied_us", pa.int64()),
    ]
)


def default_migrations_dir() -> Path:
    """The migrations shipped in the package (``emily/_data/migrations``), however installed."""
    return data_path("migrations")


@dataclass
class MigrationContext:
    """What a migration may touch: the settings, the LanceDB connection, the stores."""

    settings: EmilySettings
    db: Any
    reflex_ops: ReflexIndexOps = field(default_factory=reflex_index_ops)
    semantic_factory: Callable[[Any], SemanticMemory] = SemanticMemory
    _semantic: SemanticMemory | None = None

    @property
    def semantic(self) -> SemanticMemory:
        """The semantic store (opened on first use: it may load the sentence model)."""
        if self._semantic is None:
            self._semantic = self.semantic_factory(self.db)
        return self._semantic


@dataclass(frozen=True)
class Migration:
    """One migration file, loaded."""

    id: str
    name: str
    path: Path
    checksum: str
    module: ModuleType

    @property
    def description(self) -> str:
        return str(getattr(self.module, "DESCRIPTION", ""))

    def up(self, ctx: MigrationContext) -> None:
        self.module.up(ctx)

    def down(self, ctx: MigrationContext) -> None:
        self.module.down(ctx)

    def verify(self, ctx: MigrationContext) -> bool:
        return bool(self.module.verify(ctx))


class MigrationStatus(SovereignModel):
    """One line of ``emily migrate status``."""

    id: str
    name: str
    applied: bool
    applied_at: datetime | None
    checksum: str
    changed: bool


def load_migrations(directory: Path) -> list[Migration]:
    """Every ``NNN_name.py`` in ``directory``, in id order (ids must be unique)."""
    if not directory.is_dir():
        raise InputError(f"migrations folder {directory} does not exist")
    found: list[Migration] = []
    for path in sorted(directory.iterdir()):
        match = _FILE.match(path.name)
        if not match:
            continue
        spec = importlib.util.spec_from_file_location(f"emily_migration_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise InputError(f"cannot load migration {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in ("up", "down", "verify"):
            if not callable(getattr(module, name, None)):
                raise InputError(f"migration {path.name} lacks a callable {name}()")
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found.append(Migration(match[1], match[2], path, checksum, module))
    ids = [m.id for m in found]
    if len(set(ids)) != len(ids):
        raise InputError(f"duplicate migration ids in {directory}: {ids}")
    return found


class Migrator:
    """Apply, roll back and verify migrations against one store, with its ledger.

    Args:
        ctx: The migration context (settings, LanceDB connection, stores).
        directory: Folder of migration files (default: the package's own migrations).
        clock: Injectable clock for ledger timestamps.
    """

    def __init__(
        self, ctx: MigrationContext, directory: Path | None = None, clock: Clock | None = None
    ) -> None:
        self.ctx = ctx
        self.migrations = load_migrations(directory or default_migrations_dir())
        self._clock = clock or system_clock()
        self._ledger = open_or_create(ctx.db, LEDGER, _LEDGER_SCHEMA)

    def applied(self) -> dict[str, dict[str, Any]]:
        """Ledger rows by migration id."""
        return {r["id"]: r for r in self._ledger.to_arrow().to_pylist()}

    def status(self) -> list[MigrationStatus]:
        """Every known migration, applied or pending, and whether its file changed since."""
        ledger = self.applied()
        out = []
        for m in self.migrations:
            row = ledger.get(m.id)
            at = from_micros(row["applied_us"]) if row else None
            out.append(
                MigrationStatus(
                    id=m.id,
                    name=m.name,
                    applied=row is not None,
                    applied_at=at,
                    checksum=m.checksum,
                    changed=row is not None and row["checksum"] != m.checksum,
                )
            )
        return out

    def up(self, target: str | None = None) -> list[str]:
        """Apply pending migrations up to ``target`` (all if None); returns the ids applied."""
        done = self.applied()
        ran = []
        for m in self.migrations:
            if target is not None and m.id > target:
                break
            if m.id in done:
                continue
            try:
                m.up(self.ctx)
                ok = m.verify(self.ctx)
            except Exception as exc:
                self._rollback(m)
                raise MigrationError(
                    f"migration {m.id}_{m.name} failed and was rolled back: {exc}"
                ) from exc
            if not ok:
                self._rollback(m)
                raise MigrationError(f"migration {m.id}_{m.name} did not verify; rolled back")
            row = {
                "id": m.id,
                "name": m.name,
                "checksum": m.checksum,
                "applied_us": to_micros(self._clock.now()),
            }
            self._ledger.add(pa.Table.from_pylist([row], schema=_LEDGER_SCHEMA))
            ran.append(m.id)
        return ran

    def _rollback(self, m: Migration) -> None:
        try:
            m.down(self.ctx)
        except Exception as exc:  # report both failures: the store needs attention
            raise MigrationError(
                f"migration {m.id}_{m.name} failed and so did its rollback: {exc}"
            ) from exc

    def down(self, steps: int = 1) -> list[str]:
        """Roll back the last ``steps`` applied migrations, newest first; returns their ids."""
        if steps < 1:
            raise InputError(f"down: steps must be >= 1, got {steps}")
        done = self.applied()
        applied = [m for m in self.migrations if m.id in done]
        rolled = []
        for m in reversed(applied[-steps:]):
            m.down(self.ctx)
            self._ledger.delete(f"id = {sql_literal(m.id)}")
            rolled.append(m.id)
        return rolled

    def verify(self) -> dict[str, bool]:
        """``verify`` of every applied migration (False also when its file changed)."""
        changed = {s.id for s in self.status() if s.changed}
        done = self.applied()
        return {
            m.id: m.id not in changed and m.verify(self.ctx)
            for m in self.migrations
            if m.id in done
        }


def open_migrator(settings: EmilySettings, directory: Path | None = None) -> Migrator:
    """A migrator over the store the settings choose."""
    ctx = MigrationContext(settings=settings, db=connect_lance(settings))
    return Migrator(ctx, directory)
