"""Another local user can read nothing under ``EMILY_HOME`` and cannot reach the graph server.

Issue 16 item 6: with a long home path the embedded FalkorDB used to fall back to a password-less
loopback port, and the stores were created world-readable (umask 022). Here a home is made through
the real CLI (``python -m emily run``), then a second uid (``nobody``) tries to read every file
and to connect to the graph server. A world-readable control file next to the home proves that
the second uid can read what it should, so its failures mean the home is private.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from emily.memory._falkor_server import EmbeddedFalkorDB

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to switch to a second uid (nobody)"
)

# Run as the second uid: try to read each file and to connect to each address; print what worked.
_PROBE = """
import json, socket, sys
files, sockets, ports = json.loads(sys.argv[1])
got = []
for path in files:
    try:
        with open(path, "rb") as f:
            f.read(1)
        got.append(path)
    except OSError:
        pass
for path in sockets:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        got.append(path)
    except OSError:
        pass
    finally:
        s.close()
for port in ports:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        got.append(f"tcp:{port}")
    except OSError:
        pass
print(json.dumps(got))
"""


def _as_nobody(files: list[str], sockets: list[str], ports: list[int]) -> list[str]:
    nobody = pwd.getpwnam("nobody")
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")  # the venv's may sit
    assert python, "a system python3 that any user may run"  # under a private folder (/root)
    done = subprocess.run(
        [python, "-I", "-S", "-c", _PROBE, json.dumps([files, sockets, ports])],
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd="/",
    )
    got: list[str] = json.loads(done.stdout)
    return got


@pytest.fixture
def open_parent() -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is 0700, which would hide everything)."""
    parent = Path(tempfile.mkdtemp(prefix="emily-perm-"))
    parent.chmod(0o755)
    yield parent
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def test_a_second_user_can_read_nothing_and_reach_no_server(open_parent: Path) -> None:
    # Long enough that HOME/falkordb/falkordb.sock exceeds the kernel's socket path limit.
    home = open_parent / ("h" * 100) / "emily-home"
    home.parent.mkdir(mode=0o755)
    home.parent.chmod(0o755)
    control = open_parent / "control.txt"
    control.write_text("readable on purpose")
    control.chmod(0o644)
    stimuli = open_parent / "stimuli.jsonl"
    stimuli.write_text(
        "\n".join(
            json.dumps({"id": f"s{i}", "text": f"stove {i % 3}", "label": "withdraw"})
            for i in range(12)
        )
    )
    env = {**os.environ, "EMILY_HOME": str(home)}
    old_umask = os.umask(0o022)  # the usual default: the CLI must not rely on the caller's
    try:
        run = subprocess.run(
            [sys.executable, "-m", "emily", "run", str(stimuli), "--no-cognition", "--no-live"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    finally:
        os.umask(old_umask)
    assert run.returncode == 0, run.stdout + run.stderr
    graph = home / "falkordb"
    assert any((graph / "appendonlydir").iterdir()), "the run wrote no graph"
    assert any((home / "lancedb").iterdir()), "the run wrote no vector table"

    exposed = [
        f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}"
        for p in [home, *home.rglob("*")]
        if not p.is_symlink() and p.lstat().st_mode & 0o077
    ]
    assert exposed == [], "group/world bits under EMILY_HOME"

    server = EmbeddedFalkorDB(graph)  # the graph server on the data the CLI wrote
    address = server.start()
    try:
        state = json.loads((graph / "server.json").read_text())
        files = [str(p) for p in home.rglob("*") if p.is_file()]
        sockets = [s for s in {address.unix_socket, state.get("unix_socket")} if s]
        ports = [int(state["port"])] if state.get("port") else []
        assert sockets or ports
        assert _as_nobody([str(control)], [], []) == [str(control)]  # the probe works
        assert _as_nobody(files, sockets, ports) == []
    finally:
        server.stop()
