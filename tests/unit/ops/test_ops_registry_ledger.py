"""The decision ledger: append-only, ordered, filterable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from emily.core import ManualClock
from emily.ops.registry import Decision, DecisionLedger


def _decision(clock: ManualClock, **kw: str) -> Decision:
    fields = {"who": "alice", "what": "promote", "why": "better loss", "model": "m"} | kw
    return Decision(when=clock.now(), **fields)  # type: ignore[arg-type]


def test_records_come_back_in_order_with_every_field(tmp_path: Path) -> None:
    clock = ManualClock()
    ledger = DecisionLedger(tmp_path / "ops" / "decisions.db")
    first = _decision(clock, version="1", alias="champion")
    clock.advance(60)
    second = Decision(
        who="canary", what="rollback", why="p95 too high", when=clock.now(), model="m",
        version="1", alias="champion", previous_version="2", details={"p95": "80.0"},
    )  # fmt: skip
    ledger.record(first)
    ledger.record(second)
    ledger.record(_decision(clock, model="other"))
    assert ledger.history("m") == [first, second]
    assert len(ledger.history()) == 3
    assert ledger.history("m", alias="champion") == [first, second]
    # a second ledger object on the same file (another process) sees the same history
    assert DecisionLedger(ledger.path).history("m") == [first, second]


def test_rows_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    ledger = DecisionLedger(tmp_path / "d.db")
    ledger.record(_decision(ManualClock()))
    db = sqlite3.connect(ledger.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE decisions SET why = 'rewritten'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM decisions")
    finally:
        db.close()
    assert ledger.history()[0].why == "better loss"
