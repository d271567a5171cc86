"""``emily report``: the seed's success metrics, each measured by reading what a command left.

Why read records rather than re-run everything: the test suite takes minutes and a restore drill
copies the whole home, so the report reads what ``scripts/test.sh``, coverage, restic and the
stores recorded, says when a figure was never measured, and names the command that measures it.
``--drill`` is the exception: it restores the latest snapshot into a temporary folder and
verifies it against its manifest, without touching the live home.
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

from emily.core import EmilyError
from emily.core.settings import EmilySettings
from emily.ops.backup import BackupSettings
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


def _test_record(settings: EmilySettings, root: Path) -> tuple[Path, dict[str, Any]] | None:
    for path in (settings.path(*TEST_RECORD), root / ".emily" / Path(*TEST_RECORD)):
        if path.is_file():
            try:
                return path, json.loads(path.read_text())
            except json.JSONDecodeError:
                continue
    return None


def coverage_metric(settings: EmilySettings, root: Path) -> Metric:
    """Line+branch coverage from the last green test run, ``coverage.xml`` or ``.coverage``."""
    floor = _floor(root)
    target = f">= {floor:g} % (floor in pyproject.toml)" if floor is not None else "-"
    measure = "scripts/test.sh (or: python -m pytest --cov && coverage xml)"
    percent: float | None = None
    source = ""
    record = _test_record(settings, root)
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


def timing_metric(settings: EmilySettings, root: Path) -> Metric:
    """Seconds from clean clone (``make test``'s start) to green tests, from ``test-run.json``."""
    measure = "make test (records EMILY_HOME/reports/test-run.json)"
    record = _test_record(settings, root)
    if record is None:
        return Metric(
            name="clean clone to green tests",
            value="not measured",
            target="green",
            status="not measured",
            detail="no test-run record yet",
            measure=measure,
        )
    path, data = record
    seconds, passed = data.get("seconds"), data.get("passed") is True
    finished = data.get("finished_at")
    when = _utc(float(finished)) if isinstance(finished, int | float) else "?"
    return Metric(
        name="clean clone to green tests",
        value=f"{seconds} s" if isinstance(seconds, int | float) else "unknown",
        target="green",
        status="ok" if passed else "failing",
        detail=f"{'passed' if passed else 'failed'} at {when} ({path})",
        measure=measure,
    )


def backup_metrics(settings: EmilySettings, *, drill: bool = False) -> list[Metric]:
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
    return [backup, restore_metric(cfg, drill=drill and bool(snapshots))]


def restore_metric(cfg: BackupSettings, *, drill: bool) -> Metric:
    """With ``drill``: restore the latest snapshot into a temporary folder and verify it."""
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
        return Metric(
            name="restore verification",
            value=f"{report.stores} stores, {len(report.mismatches)} mismatches",
            target=target,
            status="ok" if report.ok else "failing",
            detail=f"drill: snapshot {snapshot[:8]} restored into a temporary folder and verified",
            measure=measure,
        )
    restored = cfg.home / "backup" / "restored-manifest.json"
    detail = "no restore recorded for this home"
    if restored.is_file():
        when = _utc(restored.stat().st_mtime)
        detail = f"this home was restored at {when}; the drill verifies the latest snapshot now"
    return Metric(
        name="restore verification",
        value="not measured",
        target=target,
        status="not measured",
        detail=detail,
        measure=measure,
    )


def build_report(settings: EmilySettings, root: Path, *, drill: bool = False) -> Report:
    """Every success metric of the seed, measured from the records under ``root`` and the home."""
    return Report(
        metrics=[
            coverage_metric(settings, root),
            timing_metric(settings, root),
            *backup_metrics(settings, drill=drill),
            dataset_lineage(root),
            model_lineage(settings),
        ]
    )
