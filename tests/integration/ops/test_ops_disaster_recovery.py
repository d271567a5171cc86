"""Disaster-recovery drill: lose the whole home, restore it with only what the user was told
to keep (the repository and a copy of the key), and get the data back (ADR 0016).

Also: restore stops the embedded FalkorDB server of the home it replaces.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from emily.cli.app import app
from emily.core.settings import EmilySettings
from emily.instinct import LanceDBReflexStore, ReflexMemory
from emily.memory.episodic import EpisodicMemory, open_episodic
from emily.memory.models import Episode

pytestmark = pytest.mark.slow
DIM = 256


@pytest.fixture
def home(_isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's EMILY_HOME, with no key or repository given by the environment."""
    if shutil.which("restic") is None:
        pytest.fail("restic is missing: apt-get install -y restic (scripts/setup.sh test does)")
    for var in (
        "RESTIC_PASSWORD",
        "RESTIC_PASSWORD_FILE",
        "EMILY_BACKUP_PASSWORD_FILE",
        "EMILY_BACKUP_REPO",
        "EMILY_BACKUP_KEEP_LAST",
    ):
        monkeypatch.delenv(var, raising=False)
    return _isolated_home


def _learn(home: Path, n: int) -> list[str]:
    memory = ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM))
    rng = np.random.default_rng(11)
    return [memory.learn(rng.integers(0, 256, DIM // 8, dtype=np.uint8), f"r{i}") for i in range(n)]


def _record(home: Path, n: int) -> EpisodicMemory:
    """``n`` episodes through the episodic API; the memory (and its server) stays open."""
    memory = open_episodic(EmilySettings(home=home))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    memory.record_episodes(
        Episode(id=f"e{i}", timestamp=when, stimulus=f"s{i % 3}", response="r") for i in range(n)
    )
    return memory


def _emily(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code == 0, out.output
    return out.output


def _emily_fails(*args: str) -> str:
    """Run the real console script, which prints a deliberate error as one line, exit 2."""
    script = Path(sys.executable).parent / "emily"
    proc = subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


def test_drill_lose_the_home_and_restore_it_with_the_kept_key(home: Path, tmp_path: Path) -> None:
    reflexes = _learn(home, 5)
    _record(home, 4).close()

    made = _emily("backup")

    key = re.search(r"New backup key: (\S+)", made)
    assert key is not None, made
    assert "Keep a copy of this file away from this machine" in made
    assert "emily restore latest --password-file" in made
    kept = tmp_path / "usb-stick" / "emily.key"  # what the user was told to keep
    kept.parent.mkdir()
    shutil.copy2(key.group(1), kept)
    repository = Path(f"{home}.backups")
    assert (repository / "config").is_file()

    # the disaster: the home and everything beside it on this machine but the repository
    shutil.rmtree(home)
    Path(key.group(1)).unlink()

    lost = _emily_fails("restore", "latest", "--verify")
    assert "pass --password-file PATH" in lost
    assert not Path(key.group(1)).exists()  # no new key was made for the old repository
    assert not home.exists()

    back = _emily("restore", "latest", "--verify", "--password-file", str(kept))

    assert "(verified " in back
    restored = ReflexMemory(DIM, store=LanceDBReflexStore(home / "lancedb", DIM))
    assert sorted(restored.ids()) == sorted(reflexes)
    episodes = open_episodic(EmilySettings(home=home))
    try:
        assert episodes.count() == 4
    finally:
        episodes.close()


def test_backup_refuses_to_make_a_new_key_for_an_existing_repository(home: Path) -> None:
    _learn(home, 1)
    _emily("backup")
    Path(f"{home}.backup-key").unlink()

    again = _emily_fails("backup")

    assert "no key for backup repository" in again
    assert not Path(f"{home}.backup-key").exists()


def _graph_server_cwds() -> set[Path]:
    """Working folders of every live redis-server (the embedded FalkorDB runs in its folder)."""
    found: set[Path] = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe").endswith("redis-server"):
                found.add(Path(os.readlink(f"/proc/{pid}/cwd")))
        except OSError:
            continue
    return found


def test_restore_stops_the_replaced_homes_graph_server(home: Path) -> None:
    memory = _record(home, 3)  # a running Emily: its graph server is up
    try:
        old_folder = (home / "falkordb").resolve()
        assert old_folder in _graph_server_cwds()
        _emily("backup")

        out = _emily("restore", "latest", "--verify")

        previous = re.search(r"previous home kept at (\S+)", out)
        assert previous is not None, out
        cwds = _graph_server_cwds()
        assert Path(previous.group(1)) / "falkordb" not in cwds
        assert old_folder not in cwds
    finally:
        memory.close()
    episodes = open_episodic(EmilySettings(home=home))
    try:
        assert episodes.count() == 3
    finally:
        episodes.close()
