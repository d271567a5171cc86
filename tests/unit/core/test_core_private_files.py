"""``emily.core.private_files``: what is private, what is reported as open, and what is skipped."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from emily.core.private_files import exposed, make_private_dir, write_private_text


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_private_folder_and_file_even_over_wider_ones(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    assert make_private_dir(folder) == folder
    assert _mode(folder) == 0o700
    assert _mode(make_private_dir(tmp_path / "new" / "deeper")) == 0o700
    state = folder / "server.json"
    state.write_text("old")
    state.chmod(0o644)
    write_private_text(state, "new")
    assert state.read_text() == "new"
    assert _mode(state) == 0o600


def test_exposed_lists_open_paths_but_not_links_or_sockets(tmp_path: Path) -> None:
    home = make_private_dir(tmp_path / "home")
    assert exposed(tmp_path / "missing") == []
    assert exposed(home) == []
    loose = home / "table.lance"
    loose.write_bytes(b"rows")
    loose.chmod(0o640)
    (home / "link").symlink_to(loose)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(home / "s.sock"))
        (home / "s.sock").chmod(0o777)
        assert [(p, stat.S_IMODE(m)) for p, m in exposed(home)] == [(loose, 0o640)]
