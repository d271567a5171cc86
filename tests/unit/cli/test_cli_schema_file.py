"""``--schema PATH`` says what is wrong with the path, not just that no file is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.cli._home_data import load_schema_file
from emily.core import InputError


def test_a_folder_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder; expected a schema JSON file"):
        load_schema_file(tmp_path)


def test_a_missing_file_is_named_as_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_schema_file(tmp_path / "nope.json")


def test_a_file_that_is_not_a_schema_says_what_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text('{"not": "a schema"}', encoding="utf-8")
    with pytest.raises(InputError, match="emily schema show --json"):
        load_schema_file(path)
