"""The API token file: created once with mode 0600, refused when others can read it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from emily.core import ConfigError
from emily.runtime.api import ensure_token, token_path


def test_the_token_is_created_private_and_reused(tmp_path: Path) -> None:
    token = ensure_token(tmp_path / "home")
    path = token_path(tmp_path / "home")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 40
    assert ensure_token(tmp_path / "home") == token
    assert path.read_text() == token


def test_tokens_differ_between_homes(tmp_path: Path) -> None:
    assert ensure_token(tmp_path / "a") != ensure_token(tmp_path / "b")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_token_others_can_read_is_refused_and_left_alone(tmp_path: Path, mode: int) -> None:
    token = ensure_token(tmp_path)
    path = token_path(tmp_path)
    path.chmod(mode)
    with pytest.raises(ConfigError, match=r"may have leaked.*chmod 600"):
        ensure_token(tmp_path)
    assert path.read_text() == token  # not silently replaced


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    path = token_path(tmp_path)
    path.touch(mode=0o600)
    with pytest.raises(ConfigError, match="is empty"):
        ensure_token(tmp_path)
