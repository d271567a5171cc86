"""Suite-wide test set-up: layer markers from folders, and an isolated EMILY_HOME per test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Prefect reads its settings once, at import: quiet, offline and with its own home for the whole
# session (a per-test home would be too late for any module that imported prefect earlier).
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="emily-prefect-"))
os.environ.update(
    PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING"
)

LAYERS = ("unit", "property", "integration", "contract", "e2e", "chaos")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its layer (the folder under tests/), so `-m unit` etc. select layers."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for layer in LAYERS:
            if layer in parts:
                item.add_marker(getattr(pytest.mark, layer))
                break


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own EMILY_HOME and no stray emily.toml, so none touches real state."""
    home = tmp_path / "emily-home"
    monkeypatch.setenv("EMILY_HOME", str(home))
    monkeypatch.setenv("EMILY_CONFIG", str(tmp_path / "no-emily.toml"))
    return home
