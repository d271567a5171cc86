from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import ConfigError
from emily.core.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMILY_HOME")
    settings = load_settings()
    assert settings.home == Path(".emily")
    assert settings.latency_budget_ms == 50.0
    assert settings.hdc_dim == 10_000
    assert settings.falkordb_url is None
    assert settings.path("lancedb") == Path(".emily/lancedb")


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "emily.toml"
    config.write_text('latency_budget_ms = 20.0\nseed = 7\nhome = "/tmp/from-toml"\n')
    monkeypatch.setenv("EMILY_CONFIG", str(config))
    monkeypatch.setenv("EMILY_SEED", "11")
    settings = load_settings()
    assert settings.latency_budget_ms == 20.0  # from the file
    assert settings.seed == 11  # the environment wins
    assert settings.home != Path("/tmp/from-toml")  # EMILY_HOME (set by conftest) wins


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("EMILY_LATENCY_BUDGET_MS", "fast", "EMILY_LATENCY_BUDGET_MS='fast' is invalid"),
        ("EMILY_LATENCY_BUDGET_MS", "-5", "greater than 0"),
        ("EMILY_HDC_DIM", "1001", "multiple of 8"),
        ("EMILY_FALKORDB_URL", "http://x", "redis://"),
        ("EMILY_ZENOH_ENDPOINT", "127.0.0.1:7447", "tcp/127.0.0.1:7447"),
        ("EMILY_WORKFLOW_DB_URL", "mysql://x/y", "postgresql://"),
    ],
)
def test_invalid_values_name_key_value_and_form(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=expected) as excinfo:
        load_settings()
    assert key in str(excinfo.value)
    assert repr(value) in str(excinfo.value)


def test_unknown_key_in_toml_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "emily.toml"
    config.write_text("latency_budget = 20\n")
    monkeypatch.setenv("EMILY_CONFIG", str(config))
    with pytest.raises(ConfigError, match="unknown setting 'latency_budget'"):
        load_settings()


def test_malformed_toml_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "emily.toml"
    config.write_text("this is = = not toml")
    monkeypatch.setenv("EMILY_CONFIG", str(config))
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings()
