"""``emily report``'s metrics read from records: present, absent, failing, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emily.core.settings import load_settings
from emily.ops.knowledge._lineage import dataset_lineage
from emily.ops.knowledge._report import (
    coverage_metric,
    last_test_run_metric,
    restore_metric,
    timing_metric,
)


@pytest.fixture
def home() -> Path:
    """This test's EMILY_HOME (set by the suite's autouse fixture)."""
    return load_settings().home


def _root(tmp_path: Path, floor: int = 90) -> Path:
    root = tmp_path / "clone"
    root.mkdir()
    (root / "pyproject.toml").write_text(f"[tool.coverage.report]\nfail_under = {floor}\n")
    return root


def _record(home: Path, **fields: object) -> None:
    (home / "reports").mkdir(parents=True, exist_ok=True)
    (home / "reports" / "test-run.json").write_text(json.dumps(fields))


def test_coverage_not_measured_names_the_command(tmp_path: Path) -> None:
    m = coverage_metric(load_settings(), _root(tmp_path))
    assert m.status == "not measured"
    assert m.value == "not measured"
    assert "pytest --cov" in m.measure
    assert m.target.startswith(">= 90 %")


def test_coverage_from_the_test_run_record(tmp_path: Path, home: Path) -> None:
    _record(home, seconds=321, passed=True, coverage_percent=91.5, finished_at=0)
    m = coverage_metric(load_settings(), _root(tmp_path))
    assert (m.value, m.status) == ("91.5 %", "ok")


def test_coverage_under_the_floor_is_failing(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "coverage.xml").write_text('<?xml version="1.0" ?><coverage line-rate="0.8"/>')
    m = coverage_metric(load_settings(), root)
    assert (m.value, m.status, m.detail) == ("80.0 %", "failing", "from coverage.xml")


def test_broken_coverage_xml_is_not_measured(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "coverage.xml").write_text("<coverage")
    assert coverage_metric(load_settings(), root).status == "not measured"


def test_test_time_from_the_record(home: Path) -> None:
    _record(home, seconds=321, passed=True, finished_at=1_700_000_000, setup_from_nothing=True)
    m = timing_metric(load_settings())
    assert (m.name, m.value, m.status) == ("clean clone to green tests", "321 s", "ok")
    assert "2023-11-14T22:13:20+00:00" in m.detail


def test_test_time_failed_run_and_missing_record(home: Path) -> None:
    assert timing_metric(load_settings()).status == "not measured"
    _record(home, seconds=12, passed=False, setup_from_nothing=True)
    assert timing_metric(load_settings()).status == "failing"


@pytest.mark.parametrize("fields", [{}, {"setup_from_nothing": False}])
def test_a_warm_rerun_is_not_called_clean_clone_to_green(
    home: Path, fields: dict[str, object]
) -> None:
    """A re-run whose set-up installed nothing says nothing about a clean clone: it shows as the
    last test run, and clean-clone-to-green stays "not measured" with the reason."""
    _record(home, seconds=40, passed=True, finished_at=1_700_000_000, **fields)
    settings = load_settings()
    clone = timing_metric(settings)
    assert (clone.value, clone.status) == ("not measured", "not measured")
    assert "installed nothing" in clone.detail
    last = last_test_run_metric(settings)
    assert (last.name, last.value, last.status) == ("last test run", "40 s, passed", "ok")


def test_the_test_record_is_read_from_emily_home_only(tmp_path: Path, home: Path) -> None:
    """EMILY_HOME elsewhere: the clone's own .emily record is another home's, not this one's."""
    root = _root(tmp_path)
    (root / ".emily" / "reports").mkdir(parents=True)
    (root / ".emily" / "reports" / "test-run.json").write_text(
        json.dumps({"seconds": 9, "passed": True, "coverage_percent": 99.0})
    )
    settings = load_settings()
    assert coverage_metric(settings, root).status == "not measured"
    assert last_test_run_metric(settings).status == "not measured"


def test_malformed_record_is_ignored(tmp_path: Path, home: Path) -> None:
    (home / "reports").mkdir(parents=True)
    (home / "reports" / "test-run.json").write_text("{not json")
    assert timing_metric(load_settings()).status == "not measured"


def test_dataset_lineage_counts_dvc_outputs_and_stray_files(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: x\n    outs:\n      - lineage/data/a.parquet\n"
    )
    data = root / "lineage" / "data"
    data.mkdir(parents=True)
    (data / "a.parquet").write_bytes(b"1")
    m = dataset_lineage(root)
    assert (m.value, m.status) == ("1/1 under DVC (100 %)", "ok")
    (data / "stray.csv").write_text("x")
    m = dataset_lineage(root)
    assert m.status == "failing"
    assert "lineage/data/stray.csv" in m.detail
    (data / "stray.csv.dvc").write_text("outs: []\n")
    assert dataset_lineage(root).status == "ok"


def test_this_repository_declares_its_datasets() -> None:
    root = Path(__file__).resolve().parents[3]
    m = dataset_lineage(root)
    assert "lineage/data/alpha_features.parquet" not in m.detail


@pytest.mark.parametrize("restored", [False, True])
def test_restore_without_drill_is_not_measured(home: Path, restored: bool) -> None:
    from emily.ops.backup import BackupSettings

    if restored:
        (home / "backup").mkdir(parents=True)
        (home / "backup" / "restored-manifest.json").write_text("{}")
    m = restore_metric(BackupSettings.from_env(home), drill=False)
    assert m.status == "not measured"
    assert ("was restored at" in m.detail) is restored


@pytest.mark.parametrize(("mismatches", "status"), [(0, "ok"), (2, "failing")])
def test_a_recorded_restore_verification_is_reported(
    home: Path, mismatches: int, status: str
) -> None:
    """`emily restore` (or a drill) records its verification; the report reads it back."""
    from datetime import UTC, datetime

    from emily.ops.backup import BackupSettings
    from emily.ops.backup._restore_record import RestoreRecord, write_restore_record

    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    write_restore_record(
        home,
        RestoreRecord(
            snapshot_id="0123456789abcdef",
            verified_at=when,
            stores=3,
            mismatches=mismatches,
            by="emily restore",
        ),
    )
    m = restore_metric(BackupSettings.from_env(home), drill=False)
    assert (m.value, m.status) == (f"3 stores, {mismatches} mismatches", status)
    assert "emily restore" in m.detail
    assert "01234567" in m.detail
    assert "2026-03-01T12:00:00+00:00" in m.detail


def test_coverage_from_a_coverage_data_file(tmp_path: Path) -> None:
    import coverage

    root = _root(tmp_path, floor=40)
    module = root / "mod.py"
    module.write_text("a = 1\nif a:\n    b = 2\nelse:\n    c = 3\n")
    data = coverage.CoverageData(basename=str(root / ".coverage"))
    data.add_lines({str(module): [1, 2, 3]})
    data.write()
    m = coverage_metric(load_settings(), root)
    assert (m.value, m.status, m.detail) == ("75.0 %", "ok", "from .coverage")
