"""``emily eval --out/--plot``: a path that cannot be written is refused before scoring."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.cli.learn_eval import check_output
from emily.core import InputError


def test_folder_and_path_under_a_file_are_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(InputError, match=f"--out {tmp_path} is a folder"):
        check_output(tmp_path, "--out")
    with pytest.raises(InputError, match=f"--plot .* cannot be written: {blocker} is a file"):
        check_output(blocker / "deeper" / "p.png", "--plot")


def test_writable_paths_pass_and_nothing_is_created(tmp_path: Path) -> None:
    check_output(None, "--out")
    check_output(tmp_path / "answers.jsonl", "--out")
    check_output(tmp_path / "new" / "folder" / "plot.png", "--plot")
    assert list(tmp_path.iterdir()) == []
