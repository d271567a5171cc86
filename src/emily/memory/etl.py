"""The semantic-fusion ETL as a Prefect flow: file → text embeddings + hypervectors → LanceDB.

Extract reads ``.jsonl``, ``.json`` (a list), ``.csv`` or ``.parquet`` records; each may carry
``id`` (else a hash of the record), ``text`` (embedded by the sentence model) and ``values``
(numbers, encoded as a hypervector); other fields are kept as JSON metadata. Load upserts by id,
so a retried or repeated ingest never duplicates.

Running without a server: with no ``PREFECT_API_URL`` Prefect 3 starts a temporary local API
on loopback for the run (its SQLite database under ``EMILY_HOME/prefect``), so every ingest is
a real, recorded flow run; with ``PREFECT_API_URL`` set, the same flow reports to that server.
(The temporary server needs FastAPI < 0.155, which pyproject pins.) Telemetry is off either way.
Only transient failures (OS, timeout and connection errors) are retried: bad input fails at
once with its own message.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emily.core import Clock, InputError, system_clock
from emily.core.settings import EmilySettings
from emily.memory.models import SemanticRecord

BATCH = 256


def _quiet_prefect(settings: EmilySettings) -> None:
    os.environ.setdefault("PREFECT_HOME", str(settings.path("prefect")))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # our CLI reports progress itself
    # The temporary server's default 20 s start-up budget is too short on a loaded 2-core box
    # (seen in the kill -9 chaos test): a slow start must not fail an ingest.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of a ``.jsonl``, ``.json``, ``.csv`` or ``.parquet`` file."""
    if not path.is_file():
        raise InputError(f"ingest: {path} is not a file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    elif suffix == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        raise InputError(f"ingest: unsupported file type {suffix!r} (jsonl, json, csv, parquet)")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"ingest: {path} must hold a list of objects (records)")
    return rows


def to_record(row: dict[str, Any], source: str, clock: Clock) -> tuple[SemanticRecord, Any]:
    """A semantic record (and the numeric ``values``, if any) from one raw row."""
    body = json.dumps(row, sort_keys=True, default=str)
    rid = str(row.get("id") or hashlib.sha256(body.encode()).hexdigest()[:32])
    text = row.get("text")
    values = row.get("values")
    if isinstance(values, str):  # CSV cells hold JSON lists, or nothing
        try:
            values = json.loads(values) if values.strip() else None
        except json.JSONDecodeError:
            raise InputError(f"ingest: values of record {rid!r} is not a JSON list") from None
    meta = {k: v for k, v in row.items() if k not in ("id", "text", "values")}
    record = SemanticRecord(
        id=f"record:{rid}",
        kind="record",
        text=str(text) if text is not None else body,
        source=source,
        created_at=clock.now(),
        metadata=json.dumps(meta, sort_keys=True, default=str),
    )
    return record, values


def load_batch(
    settings: EmilySettings, records: Sequence[SemanticRecord], numeric: Sequence[Any]
) -> int:
    """Embed and upsert one batch (texts → semantic table, values → numeric hypervectors)."""
    from emily.memory._lance import connect_lance
    from emily.memory.embedding import LevelHypervectorEncoder
    from emily.memory.semantic import SemanticMemory

    sem = _semantic_cache.get(str(settings.home))
    if sem is None:
        encoder = LevelHypervectorEncoder(settings.hdc_dim)
        sem = SemanticMemory(connect_lance(settings), hypervectors=encoder)
        _semantic_cache[str(settings.home)] = sem
    sem.add(records)
    pairs = [(r.id, v) for r, v in zip(records, numeric, strict=True) if v]
    if pairs:
        sem.add_numeric([p[0] for p in pairs], [[float(x) for x in p[1]] for p in pairs])
    return len(records)


_semantic_cache: dict[str, Any] = {}


TRANSIENT = (OSError, TimeoutError, ConnectionError)


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry a task only when it failed for a transient reason."""
    try:
        state.result()
    except TRANSIENT:
        return True
    except Exception:  # anything else is a real error: retrying would only repeat it
        return False
    return False


def build_flow(settings: EmilySettings, clock: Clock) -> Any:
    """The Prefect flow (tasks with retries for transient failures)."""
    _quiet_prefect(settings)
    from prefect import flow, task

    extract = task(name="extract", retries=3, retry_delay_seconds=1, retry_condition_fn=_transient)(
        read_records
    )
    load = task(name="load", retries=3, retry_delay_seconds=1, retry_condition_fn=_transient)(
        load_batch
    )

    @flow(name="semantic-fusion", log_prints=False, validate_parameters=False)
    def semantic_fusion(path: str) -> dict[str, int]:
        src = Path(path)
        rows = extract(src)
        pairs = [to_record(r, src.name, clock) for r in rows]
        loaded = 0
        for i in range(0, len(pairs), BATCH):
            chunk = pairs[i : i + BATCH]
            loaded += load(settings, [p[0] for p in chunk], [p[1] for p in chunk])
        return {"records": loaded, "numeric": sum(1 for p in pairs if p[1])}

    return semantic_fusion


def run_ingest(path: Path, settings: EmilySettings, clock: Clock | None = None) -> dict[str, int]:
    """Ingest ``path`` into semantic memory as one Prefect flow run; its counts."""
    clock = clock or system_clock()
    semantic_fusion = build_flow(settings, clock)
    state = semantic_fusion(str(path), return_state=True)
    return dict(state.result())
