"""``emily report``: the seed's success metrics, each measured by reading what a command left.

Why read records rather than re-run everything: the test suite takes minutes and a restore drill
copies the whole home, so the report reads what ``scripts/test.sh``, coverage, restic and the
stores recorded, says when a figure was never measured, and names the command that measures it.
``--drill`` is the exception: it restores the latest snapshot into a temporary folder and
verifies it against its manifest, without touching the live home's data (it only records the
verification in ``backup/``, as ``emily restore`` does).

Every record is read from ``EMILY_HOME``, never from the clone the command happens to run in:
another home's test run is not this one's. "Clean clone to green tests" is only claimed for a run
whose set-up installed from nothing (``setup_from_nothing`` in the record); a warm re-run shows as
the last test run instead.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from emily.core import Clock, EmilyError, system_clock
from emily.core.settings import EmilySettings
from emily.ops.backup import (
    BackupSettings,
    RestoreRecord,
    describe,
    read_restore_record,
    write_restore_record,
)
from emily.ops.knowledge._lineage import dataset_lineage, model_lineage
from emily.ops.knowledge._metric import Metric, Report

TEST_RECORD = ("reports", "test-run.json")
"""Where ``scripts/test.sh`` records its last run, under EMILY_HOME (``.emily`` by default)."""


def _utc(epoch_seconds: float) -> str:
    """An epoch timestamp from a record as ISO 8601 UTC (a conversion, not a clock read)."""
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=epoch_seconds)
    return stamp.isoformat(timespec="seconds")


def _floor(root: Path) -> float | None:
    try:
        cfg = tomllib.loads((root / "pyproject.toml").read_text())
        return float(cfg["tool"]["coverage"]["report"]["fail_under"])
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError):
        return None


def _test_record(settings: EmilySettings) -> tuple[Path, dict[str, Any]] | None:
    """``EMILY_HOME/reports/test-run.json``, or ``None`` when absent or not a JSON object."""
    path = settings.path(*TEST_RECORD)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return (path, data) if isinstance(data, dict) else None


def coverage_metric(settings: EmilySettings, root: Path) -> Metric:
    """Line+branch coverage from the last green test run, ``coverage.xml`` or ``.coverage``."""
    floor = _floor(root)
    target = f">= {floor:g} % (floor in pyproject.toml)" if floor is not None else "-"
    measure = "scripts/test.sh (or: python -m pytest --cov && coverage xml)"
    percent: float | None = None
    source = ""
    record = _test_record(settings)
    if record and isinstance(record[1].get("coverage_percent"), int | float):
        percent, source = float(record[1]["coverage_percent"]), str(record[0])
    elif (root / "coverage.xml").is_file():
        try:
            rate = ET.parse(root / "coverage.xml").getroot().get("line-rate")
            percent, source = (float(rate) * 100, "coverage.xml") if rate else (None, "")
        except ET.ParseError:
            percent = None
    elif (root / ".coverage").is_file():
        percent, source = _coverage_data(root), ".coverage"
    if percent is None:
        return Metric(
            name="coverage",
            value="not measured",
            target=target,
            status="not measured",
            detail="no test-run record, coverage.xml or .coverage found",
            measure=measure,
        )
    ok = floor is None or percent >= floor
    return Metric(
        name="coverage",
        value=f"{percent:.1f} %",
        target=target,
        status="ok" if ok else "failing",
        detail=f"from {source}",
        measure=measure,
    )


def _coverage_data(root: Path) -> float | None:
    import io

    import coverage

    try:
        cov = coverage.Coverage(
            data_file=str(root / ".coverage"), config_file=str(root / "pyproject.toml")
        )
        cov.load()
        return float(cov.report(file=io.StringIO()))
    except coverage.exceptions.CoverageException:
        return None


def _run_summary(path: Path, data: dict[str, Any]) -> tuple[str, bool, str]:
    """``(seconds, passed, "passed at WHEN (PATH)")`` of a test-run record."""
    seconds, passed = data.get("seconds"), data.get("passed") is True
    finished = data.get("finished_at")
    when = _utc(float(finished)) if isinstance(finished, int | float) else "?"
    value = f"{seconds} s" if isinstance(seconds, int | float) else "unknown"
    return value, passed, f"{'passed' if passed else 'failed'} at {when} ({path})"


def last_test_run_metric(settings: EmilySettings) -> Metric:
    """The last run of ``scripts/test.sh`` for this home, warm or not: its time and outcome."""
    record = _test_record(settings)
    measure = "scripts/test.sh (records EMILY_HOME/reports/test-run.json)"
    if record is None:
        return Metric(
            name="last test run",
            value="not measured",
            target="green",
            status="not measured",
            detail=f"no test-run record in {settings.path(*TEST_RECORD).parent}",
            measure=measure,
        )
    value, passed, detail = _run_summary(*record)
    return Metric(
        name="last test run",
        value=f"{value}, {'passed' if passed else 'failed'}",
        target="green",
        status="ok" if passed else "failing",
        detail=detail,
        measure=measure,
    )


def timing_metric(settings: EmilySettings) -> Metric:
    """Seconds from a clean clone to green tests: only a run whose set-up installed from nothing.

    ``make test`` starts the clock before ``scripts/setup.sh`` and marks the record
    ``setup_from_nothing`` when that set-up had to create the virtual environment; any other
    run (a warm re-run, ``scripts/test.sh`` alone) measures the tests, not the clean clone.
    """
    name, target = "clean clone to green tests", "green"
    measure = "a fresh clone, then make test (records EMILY_HOME/reports/test-run.json)"
    record = _test_record(settings)
    if record is None or record[1].get("setup_from_nothing") is not True:
        detail = (
            "no test-run record yet"
            if record is None
            else f"the last test run ({_run_summary(*record)[2]}) re-used a set-up environment "
            "(its set-up installed nothing), so it does not time a clean clone"
        )
        return Metric(
            name=name,
            value="not measured",
            target=target,
            status="not measured",
            detail=detail,
            measure=measure,
        )
    value, passed, detail = _run_summary(*record)
    return Metric(
        name=name,
        value=value,
        target=target,
        status="ok" if passed else "failing",
        detail=f"{detail}; set-up installed from nothing",
        measure=measure,
    )


def backup_metrics(
    settings: EmilySettings, *, drill: bool = False, clock: Clock | None = None
) -> list[Metric]:
    """Latest restic snapshot (backup success) and restore verification (``drill`` runs one)."""
    from emily.ops.backup import Restic

    cfg = BackupSettings.from_env(settings.home)
    snapshots: list[dict[str, object]] = []
    problem = ""
    local = "://" not in cfg.repository and ":" not in cfg.repository.split("/")[0]
    if local and not Path(cfg.repository).is_dir():
        problem = f"no repository at {cfg.repository}"
    else:
        try:
            snapshots = Restic(cfg).snapshots()
        except EmilyError as exc:
            problem = str(exc).splitlines()[0]
    target = "a snapshot, restic check passed"
    if snapshots:
        latest = snapshots[-1]
        backup = Metric(
            name="backup",
            value=f"{len(snapshots)} snapshot(s)",
            target=target,
            status="ok",
            detail=f"latest {latest.get('short_id')} at {latest.get('time')} in {cfg.repository}"
            " (emily backup fails unless restic check passes)",
            measure="emily backup",
        )
    else:
        backup = Metric(
            name="backup",
            value="none",
            target=target,
            status="not measured",
            detail=problem or f"no Emily snapshot in {cfg.repository}",
            measure="emily backup",
        )
    return [backup, restore_metric(cfg, drill=drill and bool(snapshots), clock=clock)]


def _restore_verification(record: RestoreRecord, measure: str, target: str) -> Metric:
    return Metric(
        name="restore verification",
        value=f"{record.stores} stores, {record.mismatches} mismatches",
        target=target,
        status="ok" if record.ok else "failing",
        detail=describe(record),
        measure=measure,
    )


def restore_metric(cfg: BackupSettings, *, drill: bool, clock: Clock | None = None) -> Metric:
    """The last recorded restore verification; with ``drill``, a new one, recorded.

    The drill restores the latest snapshot into a temporary folder, verifies it against its
    manifest and records the outcome in ``backup/`` (the live home's data is not touched), so a
    later report without ``--drill`` still shows it. ``emily restore`` leaves the same record.
    """
    from emily.ops.backup import Restic, verify_tree

    measure = "emily report --drill (or: emily restore --verify)"
    target = "restored stores match the manifest"
    if drill:
        work = Path(tempfile.mkdtemp(prefix="emily-drill-"))
        try:
            snapshot, root = Restic(cfg).restore("latest", work)
            report = verify_tree(root)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        record = RestoreRecord(
            snapshot_id=snapshot,
            verified_at=(clock or system_clock()).now(),
            stores=report.stores,
            mismatches=len(report.mismatches),
            by="emily report --drill",
        )
        write_restore_record(cfg.home, record)
        return _restore_verification(record, measure, target)
    recorded = read_restore_record(cfg.home)
    if recorded is not None:
        return _restore_verification(recorded, measure, target)
    restored = cfg.home / "backup" / "restored-manifest.json"
    detail = "no restore verification recorded for this home"
    if restored.is_file():
        when = _utc(restored.stat().st_mtime)
        detail = (
            f"this home was restored at {when} with no verification recorded; the drill "
            "verifies the latest snapshot now"
        )
    return Metric(
        name="restore verification",
        value="not measured",
        target=target,
        status="not measured",
        detail=detail,
        measure=measure,
    )


def build_report(
    settings: EmilySettings, root: Path, *, drill: bool = False, clock: Clock | None = None
) -> Report:
    """Every success metric of the seed, from the home's records (and the clone's coverage
    files and ``dvc.yaml`` under ``root``); ``clock`` stamps a drill's record."""
    return Report(
        metrics=[
            coverage_metric(settings, root),
            last_test_run_metric(settings),
            timing_metric(settings),
            *backup_metrics(settings, drill=drill, clock=clock),
            dataset_lineage(root),
            model_lineage(settings),
        ]
    )
