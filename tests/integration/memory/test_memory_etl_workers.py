"""An ingest leaves no Prefect worker running behind it in the calling process.

Prefect delivers a flow run's events (and API logs) from per-process workers; the events
worker keeps a websocket to the API open and pings it, from Prefect's loop thread, with the
global ``random`` generator. Left running after an in-process ingest, that thread moved the
global random state under later Hypothesis tests, which then failed as "flaky" in the full
suite. So an ingest returns with its reports delivered and those workers stopped; the next
ingest starts fresh ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.memory import etl

pytestmark = pytest.mark.slow


def _running_prefect_workers() -> list[str]:
    """Prefect's event and log workers that are still running in this process."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    workers = [*EventsWorker._instances.values(), *APILogWorker._instances.values()]
    return sorted({type(w).__name__ for w in workers if not w._stopped})


def _records(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": f"t {i}"}) + "\n" for i in range(n)))
    return path


def test_an_ingest_stops_the_prefect_workers_it_started(tmp_path: Path) -> None:
    settings = load_settings(hdc_dim=512)
    assert etl.run_ingest(_records(tmp_path / "a.jsonl", 3), settings, ManualClock()) == {
        "records": 3,
        "numeric": 0,
    }
    assert _running_prefect_workers() == []
    # the next ingest in the same process starts its own workers and still reports its run
    assert etl.run_ingest(_records(tmp_path / "b.jsonl", 5), settings, ManualClock()) == {
        "records": 5,
        "numeric": 0,
    }
    assert _running_prefect_workers() == []


def test_a_flow_run_outside_run_ingest_is_stopped_by_stop_prefect_workers(
    tmp_path: Path,
) -> None:
    flow = etl.build_flow(load_settings(hdc_dim=512), ManualClock())
    try:
        state = flow(str(_records(tmp_path / "a.jsonl", 2)), return_state=True)
    finally:
        etl.stop_prefect_workers()
    assert state.result() == {"records": 2, "numeric": 0}
    assert _running_prefect_workers() == []
