"""The embedded FalkorDB (``HOME/falkordb``): an RDB snapshot taken by the server itself.

Why ``SAVE`` and not a copy of the AOF folder: the append-only log is being appended to while
Emily runs, so a file copy can cut a command in half; ``SAVE`` makes the server write one
point-in-time image (``dump.rdb``) of every graph. Redis 7 with ``appendonly yes`` ignores a
``dump.rdb`` when no AOF exists (it starts empty), so the image is staged as the *base* of a
multi-part AOF (``appendonlydir/appendonly.aof.1.base.rdb`` + manifest + an empty increment):
exactly what the embedded server loads on start, so the restored folder needs no conversion.
Verified by node counts per label and edge counts per
relationship type, read from a throw-away server started on a copy of the image.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from emily.core import Clock, system_clock
from emily.ops.backup._models import StoreRecord
from emily.ops.backup._snapshotters import file_checksums

DUMP = "dump.rdb"
AOF_DIR = "appendonlydir"
_BASE = "appendonly.aof.1.base.rdb"
_INCR = "appendonly.aof.1.incr.aof"
_AOF_MANIFEST = f"file {_BASE} seq 1 type b\nfile {_INCR} seq 1 type i\n"
_MARKERS = ("server.json", AOF_DIR, DUMP)


def _client(address: Any) -> Any:
    from falkordb import FalkorDB

    sock = getattr(address, "unix_socket", None)
    if sock:
        return FalkorDB(unix_socket_path=sock)
    return FalkorDB(host="127.0.0.1", port=int(getattr(address, "port", 0) or 0))


def graph_counts(db: Any) -> dict[str, int]:
    """Nodes per label and edges per type for every graph on a FalkorDB client."""
    counts: dict[str, int] = {}
    for name in sorted(db.list_graphs()):
        graph = db.select_graph(name)
        nodes = graph.ro_query("MATCH (n) RETURN labels(n)[0], count(n)").result_set
        edges = graph.ro_query("MATCH ()-[r]->() RETURN type(r), count(r)").result_set
        for label, n in nodes:
            counts[f"nodes:{name}:{label}"] = int(n)
        for rel, n in edges:
            counts[f"edges:{name}:{rel}"] = int(n)
        counts[f"nodes:{name}"] = sum(int(n) for _, n in nodes)
        counts[f"edges:{name}"] = sum(int(n) for _, n in edges)
    return counts


class FalkorDBSnapshotter:
    """The embedded FalkorDB data folder; see the module docstring.

    Args:
        clock: Passed to the embedded server helper (waits for it to answer).
    """

    kind = "falkordb"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or system_clock()

    def claims(self, path: Path) -> bool:
        """A folder named ``falkordb`` holding server state, an AOF or an RDB image."""
        return (
            path.is_dir() and path.name == "falkordb" and any((path / m).exists() for m in _MARKERS)
        )

    def snapshot(self, source: Path, staged: Path) -> StoreRecord:
        """``SAVE`` through the running server (started, then stopped, if none runs)."""
        from emily.memory import EmbeddedFalkorDB

        server = EmbeddedFalkorDB(source, clock=self.clock)
        address = server.start()
        try:
            client = _client(address)
            client.connection.execute_command("SAVE")
            client.connection.close()
        finally:
            if server.owned:
                server.stop()
        aof = staged / AOF_DIR
        aof.mkdir(parents=True, exist_ok=True)
        (source / DUMP).replace(aof / _BASE)  # snapshots are off in the live folder (ADR 0007)
        (aof / _INCR).touch()
        (aof / "appendonly.aof.manifest").write_text(_AOF_MANIFEST)
        return self.describe(staged, "")

    def describe(self, staged: Path, rel: str) -> StoreRecord:
        """Counts read by a throw-away server on a copy of the image (the copy stays clean)."""
        from emily.memory import EmbeddedFalkorDB

        counts: dict[str, int] = {}
        if (staged / AOF_DIR).is_dir():
            with tempfile.TemporaryDirectory(prefix="emily-falkor-verify-") as tmp:
                shutil.copytree(staged / AOF_DIR, Path(tmp) / AOF_DIR)
                server = EmbeddedFalkorDB(Path(tmp), clock=self.clock)
                address = server.start()
                try:
                    client = _client(address)
                    counts = graph_counts(client)
                    client.connection.close()
                finally:
                    server.stop()
        return StoreRecord(path=rel, kind=self.kind, files=file_checksums(staged), counts=counts)
