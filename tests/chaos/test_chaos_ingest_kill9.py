"""Chaos: ``emily ingest`` killed with SIGKILL at random points, then run again to the end.

Each attempt runs the real CLI in its own process group (the Prefect flow, its temporary local
API server, the sentence model, LanceDB) and is killed, group and all: the first at a random
moment of start-up, the others at a random moment after they committed a batch (mid-load). A
final run must finish and leave exactly the file's records in semantic memory: every id once
(load is an upsert on id), none missing, and the numeric hypervectors likewise. Stale Prefect
state left by the kills must not stop that run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import lancedb
import pytest

pytestmark = pytest.mark.slow

N_RECORDS = 600
KILLS = 3


def _write_records(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(N_RECORDS):
            row = {"id": f"r{i}", "text": f"record {i} about topic {i % 37}", "values": [i % 7, i]}
            fh.write(json.dumps(row) + "\n")


def _ingest(path: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "emily", "ingest", str(path), "--json"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes the Prefect server
        )


def _version(home: Path) -> int:
    db = lancedb.connect(str(home / "lancedb"))
    if "semantic_memory" not in db.list_tables().tables:
        return 0
    return int(db.open_table("semantic_memory").version)


def _kill_after_a_write(proc: subprocess.Popen[bytes], home: Path, extra_s: float) -> bool:
    """SIGKILL the group once this attempt has committed a batch, plus ``extra_s``: mid-load."""
    start = _version(home)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if _version(home) > start:
            time.sleep(extra_s)
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def _ids(home: Path, table: str) -> Counter[str]:
    db = lancedb.connect(str(home / "lancedb"))
    if table not in db.list_tables().tables:
        return Counter()
    return Counter(db.open_table(table).to_arrow()["id"].to_pylist())


def test_ingest_killed_at_random_points_finishes_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "records.jsonl"
    _write_records(data)
    home = Path(os.environ["EMILY_HOME"])
    env = {**os.environ, "EMILY_HDC_DIM": "512", "HF_HUB_OFFLINE": "1"}
    rng = random.Random(int(os.environ.get("EMILY_CHAOS_SEED", "7")))
    killed = 0
    for attempt in range(KILLS):
        proc = _ingest(data, env, tmp_path / f"attempt-{attempt}.log")
        if attempt == 0:  # while starting: imports, model load, Prefect's temporary server
            try:
                proc.wait(timeout=rng.uniform(1.0, 6.0))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed += 1
        else:  # mid-load: after this attempt's first committed batch, at a random moment
            killed += _kill_after_a_write(proc, home, rng.uniform(0.0, 1.0))
        partial = _ids(home, "semantic_memory")
        assert all(n == 1 for n in partial.values()), "a killed run left duplicates"
    assert killed >= 2, "the attempts finished before they could be killed"

    log = tmp_path / "final.log"
    final = _ingest(data, env, log)
    final.wait(timeout=240)
    out = log.read_text(errors="replace")
    assert final.returncode == 0, out[-3000:]
    assert json.loads(out.strip().splitlines()[-1]) == {
        "records": N_RECORDS,
        "numeric": N_RECORDS,
    }
    expected = {f"record:r{i}" for i in range(N_RECORDS)}
    for table in ("semantic_memory", "numeric_memory"):
        ids = _ids(home, table)
        assert set(ids) == expected, f"{table}: missing or extra records"
        assert max(ids.values()) == 1, f"{table}: duplicated records"
