"""``emily report`` against real stores: restic snapshots, a restore drill, the MLflow registry."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from emily.cli.knowledge_commands import register_knowledge_commands
from emily.core.settings import load_settings
from emily.ops.backup import BackupSettings, backup

pytestmark = [
    pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed"),
]


@pytest.fixture
def home() -> Path:
    """This test's EMILY_HOME (set by the suite's autouse fixture)."""
    return load_settings().home


def _app() -> typer.Typer:
    app = typer.Typer()
    register_knowledge_commands(app)
    return app


def _metrics(args: list[str]) -> dict[str, dict[str, str]]:
    out = CliRunner().invoke(_app(), ["report", "--json", *args])
    metrics = {m["name"]: m for m in json.loads(out.stdout)["metrics"]}
    failing = any(m["status"] == "failing" for m in metrics.values())
    assert out.exit_code == (1 if failing else 0), out.output
    return metrics


def test_report_before_any_backup(home: Path) -> None:
    metrics = _metrics([])
    assert metrics["backup"]["status"] == "not measured"
    assert metrics["restore verification"]["status"] == "not measured"
    assert metrics["data lineage (models)"]["value"] == "no registered models"
    assert set(metrics) == {
        "coverage",
        "last test run",
        "clean clone to green tests",
        "backup",
        "restore verification",
        "data lineage (datasets)",
        "data lineage (models)",
    }


@pytest.mark.slow
def test_report_sees_the_backup_and_the_drill_verifies_it(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(home / "store.sqlite3") as db:
        db.execute("CREATE TABLE t (x INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    result = backup(BackupSettings.from_env(home))
    metrics = _metrics(["--drill"])
    assert metrics["backup"]["status"] == "ok"
    assert result.snapshot_id[:8] in metrics["backup"]["detail"]
    drill = metrics["restore verification"]
    assert drill["status"] == "ok", drill
    assert drill["value"].endswith(", 0 mismatches")
    # the drill never touches the live home's data
    with sqlite3.connect(home / "store.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (10,)
    # and is recorded: the next report (no drill) still knows the snapshot was verified
    later = _metrics([])["restore verification"]
    assert later["status"] == "ok", later
    assert "emily report --drill" in later["detail"]
    assert result.snapshot_id[:8] in later["detail"]


def test_report_table_is_printed(home: Path) -> None:
    out = CliRunner().invoke(_app(), ["report"])
    assert out.exit_code == (1 if "failing" in out.stdout else 0), out.output
    assert "emily report" in out.stdout
    assert "coverage" in out.stdout


def test_report_exits_non_zero_when_a_metric_misses_its_target(home: Path) -> None:
    """A failing metric is a failing command, so CI or a script can gate on `emily report`."""
    (home / "reports").mkdir(parents=True)
    record = {"seconds": 5, "passed": False, "finished_at": 0, "setup_from_nothing": True}
    (home / "reports" / "test-run.json").write_text(json.dumps(record))
    for args in (["report"], ["report", "--json"]):
        out = CliRunner().invoke(_app(), args)
        assert out.exit_code == 1, out.output
    assert "failing" in CliRunner().invoke(_app(), ["report"]).stdout


@pytest.mark.slow
def test_report_right_after_a_verified_restore(home: Path) -> None:
    """`emily restore` verifies and records; the report says so instead of "not measured"."""
    from emily.ops.backup import restore

    home.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(home / "store.sqlite3") as db:
        db.execute("CREATE TABLE t (x INTEGER)")
    result = backup(BackupSettings.from_env(home))
    restore(BackupSettings.from_env(home), verify=True)
    verified = _metrics([])["restore verification"]
    assert verified["status"] == "ok", verified
    assert "emily restore" in verified["detail"]
    assert result.snapshot_id[:8] in verified["detail"]
