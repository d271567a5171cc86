"""The docs index: passages embedded with the offline sentence model, in LanceDB under EMILY_HOME.

Why LanceDB: it is the project's vector store already (semantic memory), embedded, with no server.
The index is a cache of the docs: it lives in ``EMILY_HOME/knowledge/lancedb`` (apart from the
memories, so rebuilding it never touches them) and is rebuilt whenever the docs' digest (every
passage plus the model name) differs from the one recorded beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

from emily.core import SovereignModel
from emily.memory import TextEmbedder
from emily.ops.knowledge._sources import Passage, collect, digest

TABLE = "docs"
META = "docs-index.json"


class Hit(SovereignModel):
    """A passage found for a question, with its cosine similarity (1 = same direction)."""

    passage: Passage
    score: float


class IndexState(SovereignModel):
    """What the index was built from: the docs' digest, the model, and the passage count."""

    digest: str
    model: str
    passages: int


def _schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field("path", pa.string()),
            pa.field("title", pa.string()),
            pa.field("heading", pa.string()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


class DocsIndex:
    """Build (when stale) and search the docs' passages.

    Args:
        root: Repository root holding ``docs/`` and ``ops/runbooks/`` (``find_docs_root``).
        folder: Where the LanceDB index and its state file live (``EMILY_HOME/knowledge``).
        embedder: Text embedder; ``SentenceEmbedder()`` in production.
    """

    def __init__(self, root: Path, folder: Path, embedder: TextEmbedder) -> None:
        self.root = root
        self.folder = folder
        self.embedder = embedder

    @property
    def _meta_path(self) -> Path:
        return self.folder / META

    def state(self) -> IndexState | None:
        """The state recorded at the last build, or ``None`` before the first one."""
        if not self._meta_path.is_file():
            return None
        return IndexState.model_validate_json(self._meta_path.read_text())

    def _db(self) -> Any:
        (self.folder / "lancedb").mkdir(parents=True, exist_ok=True)
        return lancedb.connect(str(self.folder / "lancedb"))

    def ensure(self) -> tuple[IndexState, bool]:
        """Rebuild the index if the docs changed since the last build; return (state, rebuilt)."""
        passages = collect(self.root)
        wanted = digest(passages, self.embedder.name)
        current = self.state()
        db = self._db()
        if (
            current is not None
            and current.digest == wanted
            and TABLE in set(db.list_tables().tables)
        ):
            return current, False
        vectors = self.embedder.embed([f"{p.title}. {p.heading}. {p.text}" for p in passages])
        rows = pa.table(
            {
                "id": [p.id for p in passages],
                "path": [p.path for p in passages],
                "title": [p.title for p in passages],
                "heading": [p.heading for p in passages],
                "text": [p.text for p in passages],
                "vector": [v.astype(np.float32) for v in vectors],
            },
            schema=_schema(self.embedder.dim),
        )
        db.create_table(TABLE, data=rows, mode="overwrite")
        state = IndexState(digest=wanted, model=self.embedder.name, passages=len(passages))
        # the state is written last: a build interrupted before it is simply redone next time
        self._meta_path.write_text(json.dumps(state.model_dump()))
        return state, True

    def search(self, question: str, k: int = 5) -> list[Hit]:
        """The ``k`` passages closest to ``question`` (building the index first if stale)."""
        self.ensure()
        vector = self.embedder.embed([question])[0]
        table = self._db().open_table(TABLE)
        rows = table.search(vector).distance_type("cosine").limit(k).to_list()
        return [
            Hit(
                passage=Passage(
                    id=r["id"],
                    path=r["path"],
                    title=r["title"],
                    heading=r["heading"],
                    text=r["text"],
                ),
                score=round(1.0 - float(r["_distance"]), 6),
            )
            for r in rows
        ]
