"""The semantic-fusion ETL: file formats, upsert on re-ingest, retries of transient failures."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

from emily.core import InputError, ManualClock
from emily.core.settings import load_settings
from emily.memory import etl
from emily.memory._lance import connect_lance
from emily.memory.embedding import LevelHypervectorEncoder, SentenceEmbedder
from emily.memory.semantic import SemanticMemory

pytestmark = pytest.mark.slow


def files(tmp_path: Path) -> list[Path]:
    rows = [{"id": "1", "text": "alpha", "values": [0.5, 0.1]}, {"id": "2", "text": "beta"}]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "a.csv").write_text(
        'id,text,values,colour\n1,alpha,"[0.5, 0.1]",red\n2,beta,,blue\n'
    )
    pq.write_table(pa.Table.from_pylist([{"id": "1", "text": "alpha"}]), tmp_path / "a.parquet")
    return [tmp_path / n for n in ("a.jsonl", "a.json", "a.csv", "a.parquet")]


def test_formats_and_idempotent_reingest(
    tmp_path: Path, sentence_embedder: SentenceEmbedder
) -> None:
    settings = load_settings()
    clock = ManualClock()
    for path in files(tmp_path):
        report = etl.run_ingest(path, settings, clock)
        assert report["records"] >= 1
    sem = SemanticMemory(connect_lance(settings), hypervectors=LevelHypervectorEncoder())
    assert sem.count(kind="record") == 2  # same ids from every file: upserted, not duplicated
    assert sem.search("alpha", 1, kind="record")[0].record.id == "record:1"
    assert sem.search_numeric([0.5, 0.1], 1)[0][0] == "record:1"


def test_bad_inputs(tmp_path: Path) -> None:
    settings = load_settings()
    with pytest.raises(InputError, match="not a file"):
        etl.read_records(tmp_path / "missing.jsonl")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        etl.read_records(tmp_path / "x.txt")
    (tmp_path / "x.json").write_text('{"not": "a list"}')
    with pytest.raises(InputError, match="list of objects"):
        etl.run_ingest(tmp_path / "x.json", settings)


def test_transient_failures_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sentence_embedder: SentenceEmbedder
) -> None:
    calls = {"n": 0}
    real = etl.load_batch

    def flaky(*args: object) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("transient")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(etl, "load_batch", flaky)
    path = files(tmp_path)[0]
    assert etl.run_ingest(path, load_settings(), ManualClock())["records"] == 2
    assert calls["n"] == 2
    # Prefect recorded it: the flow run completed and its load task ran twice (one retry). The
    # API may be one server shared by the whole suite (scripts/test.sh): this run is the latest
    # with this file as its parameter.
    with get_client(sync_client=True) as client:
        recent = client.read_flow_runs(limit=200, sort=FlowRunSort.START_TIME_DESC)
        flow_run = next(r for r in recent if r.parameters.get("path") == str(path))
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
            sort=TaskRunSort.EXPECTED_START_TIME_DESC,
            limit=10,
        )
    assert flow_run.state is not None
    assert flow_run.state.is_completed()
    assert sorted((t.name.split("-")[0], t.run_count) for t in tasks) == [
        ("extract", 1),
        ("load", 2),
    ]


def test_input_errors_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = etl.read_records

    def counting(path: Path) -> list[dict[str, object]]:
        calls["n"] += 1
        return real(path)

    monkeypatch.setattr(etl, "read_records", counting)
    (tmp_path / "bad.csv.txt").write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        etl.run_ingest(tmp_path / "bad.csv.txt", load_settings())
    assert calls["n"] == 1
