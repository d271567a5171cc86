"""Bad settings, from the environment or ``emily.toml``: one line per problem, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import ConfigError
from emily.core.settings import MAX_HDC_DIM, check_home, load_settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "EMILY_HOME='' is invalid: it is set but empty"),
        ("   ", "set but empty"),
        ("/dev/null", r"EMILY_HOME='/dev/null' is not a folder"),
        ("/proc/emily-home", "cannot be created in /proc"),
    ],
)
def test_unusable_home_is_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("EMILY_HOME", value)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_home_under_a_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("EMILY_HOME", str(blocker / "deeper" / "home"))
    with pytest.raises(ConfigError, match=f"cannot be created: {blocker} is a file"):
        load_settings()
    assert load_settings(check_home_folder=False).home == blocker / "deeper" / "home"


def test_usable_homes_pass_and_nothing_is_created(tmp_path: Path) -> None:
    check_home(tmp_path)  # exists
    check_home(tmp_path / "new" / "home")  # can be created
    assert list(tmp_path.iterdir()) == []  # the probe cleaned up, and made no home


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("64", "greater than or equal to 128"),
        (str(MAX_HDC_DIM + 8), "less than or equal to 1000000"),
        ("100000000000000", "less than or equal to 1000000"),
        ("ten", "valid integer"),
    ],
)
def test_hdc_dim_is_bounded(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("EMILY_HDC_DIM", value)
    with pytest.raises(ConfigError, match=f"EMILY_HDC_DIM='{value}' is invalid: .*{expected}"):
        load_settings()


def _toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes) -> Path:
    config = tmp_path / "emily.toml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text)
    monkeypatch.setenv("EMILY_CONFIG", str(config))
    return config


def test_toml_wrong_type_names_the_key_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _toml(tmp_path, monkeypatch, 'seed = "seven"\nlatency_budget_ms = -1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 2  # one line per problem
    assert lines[0].startswith(f"seed = 'seven' in {config} is invalid")
    assert lines[1].startswith(f"latency_budget_ms = -1 in {config} is invalid: ")


def test_environment_problems_name_the_variable_even_with_a_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _toml(tmp_path, monkeypatch, "seed = 3\n")
    monkeypatch.setenv("EMILY_SEED", "-1")
    with pytest.raises(ConfigError, match=r"^EMILY_SEED='-1' is invalid: .*greater than"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed = = 3", r"not valid TOML \(.*line 1"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ("unknown_knob = 1", "unknown setting 'unknown_knob' in"),
    ],
)
def test_malformed_toml_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, expected: str
) -> None:
    config = _toml(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings()
    assert str(config) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_config_path_that_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMILY_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=f"cannot read {tmp_path}"):
        load_settings()
