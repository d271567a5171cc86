"""Run-time files come from the package (``emily._data``), never from a source checkout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import emily
from emily._data import data_path
from emily.core import ConfigError
from emily.core.settings import load_settings
from emily.memory.migrations import default_migrations_dir, load_migrations
from emily.ops.features import feature_store_config, render_repo
from emily.ops.registry import card_json_schema, load_card
from emily.ops.registry._cards import default_card_path

PACKAGE = Path(emily.__file__).resolve().parent
REPO = Path(__file__).resolve().parents[3]


def test_migrations_ship_in_the_package() -> None:
    directory = default_migrations_dir()
    assert directory.is_relative_to(PACKAGE)
    assert [m.id for m in load_migrations(directory)] == ["001", "002"]


def test_feature_store_templates_ship_in_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EMILY_FEAST_INFRA", raising=False)
    monkeypatch.delenv("EMILY_FEAST_VENV", raising=False)
    config = feature_store_config(load_settings(home=tmp_path), project="pkgdata")
    assert Path(config.infra_dir).is_relative_to(PACKAGE)
    assert (Path(config.infra_dir) / "runner.py").is_file()
    # the Feast environment sits beside the one Emily runs in (scripts/setup_feast.sh makes it)
    assert Path(config.feast_python) == Path(sys.prefix).parent / ".venv-feast" / "bin" / "python"
    repo = render_repo(config)
    assert (repo / "definitions.py").is_file()
    assert "pkgdata" in (repo / "feature_store.yaml").read_text(encoding="utf-8")


def test_card_template_and_schema_ship_in_the_package() -> None:
    assert load_card(data_path("model_cards", "emily-gflownet.yaml")).name == "emily-gflownet"
    shipped = json.loads(data_path("model_cards", "model_card.schema.json").read_text("utf-8"))
    assert shipped == card_json_schema()


@pytest.mark.parametrize("name", ["emily-gflownet.yaml", "model_card.schema.json"])
def test_repo_model_cards_match_the_shipped_copies(name: str) -> None:
    """The checkout's ``model_cards/`` (docs, DVC, tests) and the package's copy must not drift."""
    shipped = data_path("model_cards", name).read_text(encoding="utf-8")
    assert (REPO / "model_cards" / name).read_text(encoding="utf-8") == shipped, (
        f"model_cards/{name} and src/emily/_data/model_cards/{name} differ: copy one onto the other"
    )


def test_missing_package_data_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="package data 'nothing/here' is missing"):
        data_path("nothing", "here")


def test_default_card_is_found_in_the_working_folder_then_the_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(home=tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    in_home = settings.path("model_cards", "m.yaml")
    assert default_card_path("m", settings) == in_home  # neither exists: the home is named
    (work / "model_cards").mkdir()
    (work / "model_cards" / "m.yaml").write_text("x", encoding="utf-8")
    assert default_card_path("m", settings) == Path("model_cards") / "m.yaml"
