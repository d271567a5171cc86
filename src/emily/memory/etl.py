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
once with its own message. The file is checked in full before the flow starts (:func:`check`):
a malformed file then costs a second and one line, not the temporary server's start-up and a
failed flow run's tracebacks. Reading it twice is cheap next to embedding every record.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emily.core import Clock, EmilyError, InputError, system_clock
from emily.core.settings import EmilySettings
from emily.memory.models import SemanticRecord

BATCH = 256
DRAIN_TIMEOUT_S = 30.0  # the most an ingest waits for Prefect to deliver its run's reports


def _quiet_prefect(settings: EmilySettings) -> None:
    os.environ.setdefault("PREFECT_HOME", str(settings.path("prefect")))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # our CLI reports progress itself
    # The temporary server's default 20 s start-up budget is too short on a loaded 2-core box
    # (seen in the kill -9 chaos test): a slow start must not fail an ingest.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


FORMATS = "a .jsonl, .json, .csv or .parquet file of records"


def _jsonl(path: Path) -> list[Any]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                rows.append(_json(line, f"{path}:{number}", "one JSON object per line"))
    return rows


def _json_file(path: Path) -> Any:
    return _json(path.read_text(encoding="utf-8"), str(path), "a JSON list of objects")


def _json(text: str, where: str, expected: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"ingest: {where} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); expected {expected}"
        ) from None
    except RecursionError:
        raise InputError(
            f"ingest: {where} nests JSON too deeply; expected {expected} of flat fields"
        ) from None


def _csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise InputError(
                f"ingest: {path}:{reader.line_num} is not CSV ({exc}); expected a header row "
                "and one row per record"
            ) from None
    for number, row in enumerate(rows, 2):
        if None in row:  # DictReader files cells beyond the header under the key None
            raise InputError(
                f"ingest: {path} row {number} has {len(row) - 1 + len(row[None])} cells but the "
                f"header has {len(row) - 1}; expected one cell per column"
            )
    return rows


def _parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    except pa.ArrowInvalid as exc:
        raise InputError(f"ingest: {path} is not a Parquet file ({_one_line(exc)})") from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O error: transient ones are retried
            raise
        # pyarrow reports an undecodable footer as an OSError without errno
        raise InputError(
            f"ingest: {path} is not a readable Parquet file ({_one_line(exc)})"
        ) from None
    return rows


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


READERS: dict[str, Callable[[Path], Any]] = {
    ".jsonl": _jsonl,
    ".json": _json_file,
    ".csv": _csv,
    ".parquet": _parquet,
}


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of a ``.jsonl``, ``.json``, ``.csv`` or ``.parquet`` file."""
    if not path.is_file():
        what = "it is a folder" if path.is_dir() else "it does not exist"
        raise InputError(f"ingest: {path} is not a file ({what}); expected {FORMATS}")
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise InputError(f"ingest: unsupported file type {suffix!r} (jsonl, json, csv, parquet)")
    try:
        rows = reader(path)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"ingest: {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); expected a UTF-8 {suffix} file"
        ) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"ingest: {path} must hold a list of objects (records)")
    if not rows:
        raise InputError(f"ingest: {path} holds no records; expected at least one")
    return rows


def to_record(
    row: dict[str, Any], source: str, clock: Clock
) -> tuple[SemanticRecord, list[float] | None]:
    """A semantic record (and the numeric ``values``, if any) from one raw row."""
    body = json.dumps(row, sort_keys=True, default=str)
    rid = str(row.get("id") or hashlib.sha256(body.encode()).hexdigest()[:32])
    text = row.get("text")
    values = row.get("values")
    if isinstance(values, str):  # CSV cells hold JSON lists, or nothing
        where, expected = f"values of record {rid!r}", "a JSON list of numbers"
        values = _json(values, where, expected) if values.strip() else None
    meta = {k: v for k, v in row.items() if k not in ("id", "text", "values")}
    record = SemanticRecord(
        id=f"record:{rid}",
        kind="record",
        text=str(text) if text is not None else body,
        source=source,
        created_at=clock.now(),
        metadata=json.dumps(meta, sort_keys=True, default=str),
    )
    return record, _numbers(values, rid)


def _numbers(values: Any, rid: str) -> list[float] | None:
    """``values`` as finite floats (``None`` for none): NaN or infinity has no level to encode,
    and a string or an object is not a vector."""
    if values is None or values == []:
        return None
    if not isinstance(values, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in values
    ):
        shown = json.dumps(values, default=str)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise InputError(f"ingest: values of record {rid!r} is {shown}; expected a list of numbers")
    floats = [float(x) if abs(x) <= sys.float_info.max else math.inf for x in values]
    if not all(math.isfinite(x) for x in floats):
        raise InputError(
            f"ingest: values of record {rid!r} holds NaN or an infinity; expected finite numbers"
        )
    return floats


def check(path: Path, clock: Clock) -> int:
    """Read and convert every record of ``path`` as the flow will, raising ``InputError`` on
    the first problem; how many records it holds."""
    return len([to_record(row, path.name, clock) for row in read_records(path)])


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
        sem.add_numeric([p[0] for p in pairs], [p[1] for p in pairs])
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


class _NoTracebackForDeliberateErrors(logging.Filter):
    """Prefect logs a failed run with its traceback; when the cause is an ``EmilyError`` (bad
    input found inside the flow, e.g. a file changed after :func:`check`), the CLI prints that
    error as one line, so the traceback only buries it. Any other exception keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], EmilyError):
            record.exc_info = record.exc_text = None
        return True


_FILTER = _NoTracebackForDeliberateErrors()


def build_flow(settings: EmilySettings, clock: Clock) -> Any:
    """The Prefect flow (tasks with retries for transient failures)."""
    _quiet_prefect(settings)
    from prefect import flow, task

    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(_FILTER)  # a set: adding it again is a no-op

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
    check(path, clock)
    semantic_fusion = build_flow(settings, clock)
    try:
        state = semantic_fusion(str(path), return_state=True)
    finally:
        stop_prefect_workers()
    return dict(state.result())


def stop_prefect_workers() -> None:
    """Deliver what Prefect still holds of finished runs (events, API logs), then stop the
    workers that deliver it; the next flow run starts new ones.

    Prefect keeps its events worker for the life of the process, with a websocket to the API
    that its loop thread pings (keep-alive, checkpoints) using the global ``random`` generator.
    A CLI process exits after the run anyway; a process that goes on (the test suite, a
    notebook) would otherwise keep a thread moving the global random state for good, which
    made a later Hypothesis test fail as "flaky". Waits at most ``DRAIN_TIMEOUT_S``: past
    that, the stopped workers finish sending on their own.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=DRAIN_TIMEOUT_S, at_exit=False)
