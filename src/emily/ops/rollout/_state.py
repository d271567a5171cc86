"""Rollout state that survives a restart: canary, A/B and blue-green progress under EMILY_HOME.

Why persist it: a canary that forgets its 40 measured calls when the process restarts starts its
evidence from zero (and a crash loop would keep it from ever deciding); an A/B test that loses
its observations can never reach significance; a blue-green slot that forgets which version is
live serves the wrong model after a restart. Each rollout keeps one JSON state document (what it
decided, what serves) and an append-only list of per-call observations, in one SQLite file
(``EMILY_HOME/ops/rollout.db``) beside the decision ledger, so one backup covers both.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emily.core import Clock, InputError, SovereignModel, system_clock
from emily.core.settings import EmilySettings, load_settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout TEXT NOT NULL,
    arm TEXT NOT NULL,
    metrics TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_rollout ON observations (rollout, seq);
"""


class RolloutRecord(SovereignModel):
    """One rollout's saved state, as ``emily models rollouts`` lists it."""

    id: str
    kind: str
    updated_at: str
    state: dict[str, Any]
    observations: int


class RolloutStore:
    """The SQLite file holding every rollout's state and observations.

    Args:
        path: The database file (created with its folder if absent).
        clock: Stamps ``updated_at`` (the temporal lock: no direct clock reads).
    """

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = path
        self._clock = clock or system_clock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def default(
        cls, settings: EmilySettings | None = None, *, clock: Clock | None = None
    ) -> RolloutStore:
        """The store at ``EMILY_HOME/ops/rollout.db``."""
        return cls((settings or load_settings()).path("ops", "rollout.db"), clock=clock)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            with db:  # commits on success, rolls back on error
                yield db
        finally:
            db.close()

    def save_state(self, rollout: str, kind: str, state: Mapping[str, Any]) -> None:
        """Replace ``rollout``'s state document (written atomically by one transaction)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO rollouts (id, kind, updated_at, state) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
                " updated_at = excluded.updated_at, state = excluded.state",
                (rollout, kind, self._clock.now().isoformat(), json.dumps(dict(state))),
            )

    def load_state(self, rollout: str, kind: str) -> dict[str, Any] | None:
        """``rollout``'s saved state, or ``None`` if it never saved one.

        Raises:
            InputError: The id belongs to a rollout of another kind.
        """
        with self._connect() as db:
            row = db.execute("SELECT kind, state FROM rollouts WHERE id = ?", (rollout,)).fetchone()
        if row is None:
            return None
        if row[0] != kind:
            raise InputError(f"rollout {rollout!r} is a {row[0]} rollout, not a {kind} one")
        state: dict[str, Any] = json.loads(row[1])
        return state

    def append(self, rollout: str, arm: str, metrics: Mapping[str, float]) -> None:
        """Add one call's measurements for ``arm`` of ``rollout``."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO observations (rollout, arm, metrics) VALUES (?, ?, ?)",
                (rollout, arm, json.dumps({k: float(v) for k, v in metrics.items()})),
            )

    def observations(self, rollout: str) -> list[tuple[str, dict[str, float]]]:
        """Every ``(arm, metrics)`` recorded for ``rollout``, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT arm, metrics FROM observations WHERE rollout = ? ORDER BY seq", (rollout,)
            ).fetchall()
        return [(arm, json.loads(metrics)) for arm, metrics in rows]

    def records(self) -> list[RolloutRecord]:
        """Every rollout's state with its observation count, most recently updated first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT r.id, r.kind, r.updated_at, r.state,"
                " (SELECT COUNT(*) FROM observations o WHERE o.rollout = r.id)"
                " FROM rollouts r ORDER BY r.updated_at DESC, r.id"
            ).fetchall()
        return [
            RolloutRecord(id=i, kind=k, updated_at=u, state=json.loads(s), observations=n)
            for i, k, u, s, n in rows
        ]
