"""A new engine backend: reflexes kept in SQLite, behind the `ReflexStore` protocol.

`ReflexMemory` persists reflexes through any object with `load`, `upsert` and `delete`
(`emily.instinct.ReflexStore`); LanceDB is the default and `InMemoryReflexStore` the test double.
This backend uses Python's own `sqlite3`: a memory learns a reflex through it, and a second
memory opened on the same file answers from it.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from emily.instinct import ReflexMemory, ReflexStore, StimulusEncoder, StoredReflex


class SQLiteReflexStore:
    """Reflexes as rows of one SQLite table (the packed vector as a blob, the rest as JSON);
    every write is committed before it returns, as the protocol asks."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS reflexes (id TEXT PRIMARY KEY, vector BLOB, fields TEXT)"
        )

    def load(self) -> list[StoredReflex]:
        rows = self.db.execute("SELECT vector, fields FROM reflexes ORDER BY rowid").fetchall()
        return [StoredReflex(vector=vector, **json.loads(fields)) for vector, fields in rows]

    def upsert(self, reflexes: Sequence[StoredReflex]) -> None:
        with self.db:  # one transaction: all or nothing
            self.db.executemany(
                "INSERT OR REPLACE INTO reflexes (id, vector, fields) VALUES (?, ?, ?)",
                [(r.id, r.vector, r.model_dump_json(exclude={"vector"})) for r in reflexes],
            )

    def delete(self, ids: Sequence[str]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM reflexes WHERE id = ?", [(i,) for i in ids])

    def close(self) -> None:
        self.db.close()


def main(folder: Path) -> dict[str, object]:
    store: ReflexStore = SQLiteReflexStore(folder / "reflexes.sqlite")  # the protocol, checked
    encoder = StimulusEncoder()
    learned = ReflexMemory(encoder=encoder, store=store)
    learned.learn("hot stove", "withdraw hand", 0.9)
    reopened = ReflexMemory(encoder=encoder, store=SQLiteReflexStore(folder / "reflexes.sqlite"))
    answer = reopened.lookup(encoder.encode("hot stove"))
    return {"stored": len(reopened.store.load()), "answer": getattr(answer, "response", None)}


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        result = main(Path(tmp))
    json.dump(result, sys.stdout)
