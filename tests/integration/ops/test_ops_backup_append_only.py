"""An append-only (write-once) repository: backups and restores work, deletes are refused.

The server is ``rclone serve restic --append-only`` (Debian package ``rclone``), which speaks
restic's REST protocol with the same append-only rule as restic's own ``rest-server`` (not
packaged in Debian 12).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from _support.ports import free_port
from emily.ops.backup import BackupSettings, Restic, backup, restore

pytestmark = pytest.mark.slow


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's EMILY_HOME (from tests/conftest.py)."""
    return _isolated_home


@pytest.fixture
def append_only_url(tmp_path: Path) -> Iterator[str]:
    """restic REST URL of an append-only rclone server on a free loopback port."""
    for tool in ("restic", "rclone"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install -y {tool}")
    port = free_port()
    store = tmp_path / "worm"
    store.mkdir()
    server = subprocess.Popen(
        ["rclone", "serve", "restic", "--append-only", "--addr", f"127.0.0.1:{port}", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield f"rest:http://127.0.0.1:{port}/emily"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_append_only_repository(
    home: Path, append_only_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESTIC_PASSWORD", "test-only")
    monkeypatch.setenv("EMILY_BACKUP_REPO", append_only_url)
    monkeypatch.setenv("EMILY_BACKUP_APPEND_ONLY", "1")
    home.mkdir()
    (home / "flags.yaml").write_text("v: 1\n")
    settings = BackupSettings.from_env()
    assert settings.append_only
    first = backup(settings)
    (home / "flags.yaml").write_text("v: 2\n")
    backup(settings)
    restic = Restic(settings)

    ids = [str(snap["id"]) for snap in restic.snapshots()]
    # restic would retry a refused delete for ~40 s, so ask the REST server directly
    url = append_only_url.removeprefix("rest:") + f"/snapshots/{ids[0]}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10)
    refused.value.close()
    assert refused.value.code == 403

    assert len(restic.snapshots()) == 2  # nothing could be deleted
    restored = restore(settings, snapshot=first.snapshot_id)
    assert restored.report.ok
    assert (home / "flags.yaml").read_text() == "v: 1\n"
