"""``emily ingest`` with no ``PREFECT_API_URL`` records its flow run in Prefect's temporary server.

Why here: the suite's command (``scripts/test.sh``) starts one Prefect server for the whole run
and points every ingest at it, so the default a user gets (no server: Prefect starts a temporary
API for the process, its SQLite database under ``PREFECT_HOME``) is tested by this file alone.
A real process, since Prefect reads ``PREFECT_API_URL`` once, when it is imported.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_an_ingest_without_a_server_records_a_completed_flow_run(tmp_path: Path) -> None:
    data = tmp_path / "notes.jsonl"
    data.write_text('{"id": "a", "text": "first", "values": [1, 2]}\n{"id": "b", "text": "x"}\n')
    prefect_home = tmp_path / "prefect"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(prefect_home), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "emily", "ingest", str(data), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"records": 2, "numeric": 1}
    with sqlite3.connect(prefect_home / "prefect.db") as db:
        runs = db.execute(
            "SELECT flow.name, flow_run.state_type, flow_run.parameters"
            " FROM flow_run JOIN flow ON flow.id = flow_run.flow_id"
        ).fetchall()
    assert [(name, state, json.loads(params)) for name, state, params in runs] == [
        ("semantic-fusion", "COMPLETED", {"path": str(data)})
    ]
