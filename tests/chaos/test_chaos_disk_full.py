"""Chaos: the disk under ``EMILY_HOME`` fills up mid-run.

``EMILY_HOME`` lives on a small tmpfs mounted for the test (we run as root in CI; elsewhere the
test skips, saying why). After a first successful write, a filler file takes every free byte. The
documented behaviour (runbook "disk full"): the next write fails at once with
``StorageFullError`` naming the store and saying nothing changed (not a Rust traceback, and not
retried by the ETL as if it were transient); everything stored before stays readable and
unchanged (same rows, same table version); once space is freed the same write succeeds, with no
duplicates.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emily.core import ManualClock
from emily.core.settings import load_settings
from emily.memory import SemanticMemory, SemanticRecord, StorageFullError
from emily.memory import etl as etl_module
from emily.memory._lance import connect_lance
from emily.memory.embedding import HashTextEmbedder
from emily.memory.semantic import V1, V2

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 16 MiB tmpfs as EMILY_HOME (Prefect's own home stays off it)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    monkeypatch.setenv("EMILY_HOME", str(mount / "home"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path) -> Path:
    filler = mount / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def _records(prefix: str, n: int) -> list[SemanticRecord]:
    return [
        SemanticRecord(
            id=f"{prefix}{i}", kind="note", text=f"{prefix} note {i} " * 20, created_at=T0
        )
        for i in range(n)
    ]


def test_semantic_write_on_full_disk_fails_clearly_and_loses_nothing(small_disk: Path) -> None:
    embedders = {V1: HashTextEmbedder(name=V1), V2: HashTextEmbedder(name=V2)}
    sem = SemanticMemory(connect_lance(load_settings()), embedders=embedders, optimize_every=0)
    sem.add(_records("a", 200))
    version = sem.version
    before = sorted(sem.ids())
    filler = _fill(small_disk)

    with pytest.raises(StorageFullError, match=r"no space left .* nothing stored changed"):
        sem.add(_records("b", 2000))
    assert sem.version == version
    assert sorted(sem.ids()) == before  # nothing lost, nothing half-written
    assert sem.search("a note 7", 1)[0].record.id.startswith("a")  # reads keep working

    filler.unlink()  # the operator frees space
    sem.add(_records("b", 2000))
    ids = sem.ids()
    assert len(ids) == len(set(ids)) == 2200


@pytest.mark.slow
def test_ingest_on_full_disk_is_not_retried_and_resumes(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(hdc_dim=512)
    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    first.write_text(
        "".join(json.dumps({"id": f"f{i}", "text": f"f {i}"}) + "\n" for i in range(50))
    )
    # short texts: the disk is full to the last byte, so any write fails; a long text would
    # only make the sentence model's share of each attempt (embedded before the write) larger
    rows = [{"id": f"s{i}", "text": f"second {i}", "values": [i, 1]} for i in range(300)]
    second.write_text("".join(json.dumps(r) + "\n" for r in rows))
    clock = ManualClock(T0)
    assert etl_module.run_ingest(first, settings, clock)["records"] == 50
    filler = _fill(small_disk)

    calls = {"n": 0}
    real = etl_module.load_batch

    def counting(*args: object) -> int:
        calls["n"] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(etl_module, "load_batch", counting)
    with pytest.raises(StorageFullError):
        etl_module.run_ingest(second, settings, clock)
    assert calls["n"] == 1  # disk full is not transient: no retry storm
    monkeypatch.setattr(etl_module, "load_batch", real)
    embedders = {V1: HashTextEmbedder(name=V1), V2: HashTextEmbedder(name=V2)}
    sem = SemanticMemory(connect_lance(settings), embedders=embedders)  # reads ids only
    assert sorted(sem.ids()) == sorted(f"record:f{i}" for i in range(50))  # first ingest intact

    filler.unlink()
    assert etl_module.run_ingest(second, settings, clock)["records"] == 300
    ids = SemanticMemory(connect_lance(settings), embedders=embedders).ids()
    assert len(ids) == len(set(ids)) == 350
