"""The decision ledger: an append-only record of who changed which model, how, why and when.

Why our own ledger: MLflow keeps only the *current* holder of an alias, so after a promotion
nobody can tell which version was champion last Tuesday or why it was replaced. Every
registration, promotion, rollback, canary verdict, A/B verdict and blue-green switch appends one
``Decision`` here; ``emily models history`` reads it back. SQLite triggers refuse UPDATE and
DELETE, so a bug (or a hand) cannot quietly rewrite history.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import AwareDatetime, Field

from emily.core import SovereignModel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL,
    why TEXT NOT NULL,
    model TEXT NOT NULL,
    version TEXT,
    alias TEXT,
    previous_version TEXT,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_model ON decisions (model, id);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision ledger is append-only'); END;
"""


class Decision(SovereignModel):
    """One decision about a model: who made it, what it did, why, and when.

    Attributes:
        who: A person (``getpass`` user at the CLI) or a component (``canary-controller``).
        what: The action: ``register``, ``promote``, ``rollback``, ``clear-alias``,
            ``ab-verdict``, ``blue-green-switch``, ``blue-green-rejected``, ``blue-green-rollback``.
        why: Free text; automated decisions put their evidence here (SLO figures, p-values).
        when: From the injected clock, so replays produce the same ledger.
        model: Registered model name.
        version: The version the decision is about, if any.
        alias: The alias it moved (``champion``/``challenger``), if any.
        previous_version: Who held that alias before, so a rollback knows where to go.
        details: Extra figures as strings (kept flat so the record stays a simple table row).
    """

    who: str = Field(min_length=1)
    what: str = Field(min_length=1)
    why: str = Field(min_length=1)
    when: AwareDatetime
    model: str = Field(min_length=1)
    version: str | None = None
    alias: str | None = None
    previous_version: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


class DecisionRecorder(Protocol):
    """Where rollout components send their decisions (the ledger, or a list in a test)."""

    def record(self, decision: Decision) -> None:
        """Store ``decision`` durably."""
        ...


class DecisionLedger:
    """Append-only SQLite table of ``Decision`` rows (default: ``EMILY_HOME/ops/decisions.db``).

    Example:
        >>> ledger = DecisionLedger(Path("/tmp/x/decisions.db"))  # doctest: +SKIP
        >>> ledger.record(decision)  # doctest: +SKIP
        >>> ledger.history("emily-gflownet")  # doctest: +SKIP
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            with db:  # commits on success, rolls back on error
                yield db
        finally:
            db.close()

    def record(self, decision: Decision) -> None:
        """Append ``decision``; nothing already stored is ever changed."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO decisions (at, who, what, why, model, version, alias,"
                " previous_version, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    decision.when.isoformat(),
                    decision.who,
                    decision.what,
                    decision.why,
                    decision.model,
                    decision.version,
                    decision.alias,
                    decision.previous_version,
                    json.dumps(decision.details, sort_keys=True),
                ),
            )

    def history(self, model: str | None = None, *, alias: str | None = None) -> list[Decision]:
        """All decisions, oldest first, optionally only one model's (and one alias's)."""
        query = "SELECT at, who, what, why, model, version, alias, previous_version, details"
        query += " FROM decisions WHERE (? IS NULL OR model = ?) AND (? IS NULL OR alias = ?)"
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", (model, model, alias, alias)).fetchall()
        return [
            Decision(
                when=datetime.fromisoformat(at),
                who=who,
                what=what,
                why=why,
                model=name,
                version=version,
                alias=alias_,
                previous_version=previous,
                details=json.loads(details),
            )
            for at, who, what, why, name, version, alias_, previous, details in rows
        ]
