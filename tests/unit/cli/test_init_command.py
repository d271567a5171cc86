"""``emily init``: a complete home anywhere, from the package's own files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from emily.cli.init_command import init_home, register_init_command
from emily.core import ConfigError
from emily.core.settings import load_settings
from emily.ops.flags import FlagStore
from emily.ops.flags._schema import DEFAULT_FLAGS
from emily.ops.registry import load_card
from emily.ops.registry._cards import default_card_path


def _app() -> typer.Typer:
    app = typer.Typer()
    register_init_command(app)

    @app.command()
    def _other() -> None:  # two commands: typer then needs the command name, as in `emily`
        """Placeholder."""

    return app


def test_init_makes_a_usable_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "some where" / "home"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_app(), ["init", str(home)])
    assert result.exit_code == 0, result.output
    config = tomllib.loads((home / "emily.toml").read_text(encoding="utf-8"))
    assert Path(config["home"]) == home
    assert FlagStore(home / "flags.yaml").flags().flags.keys() == DEFAULT_FLAGS.flags.keys()
    assert load_card(home / "model_cards" / "emily-gflownet.yaml").name == "emily-gflownet"
    assert (home / "model_cards" / "model_card.schema.json").is_file()
    repo = home / "features" / "emily" / "repo"
    assert str(home) in (repo / "feature_store.yaml").read_text(encoding="utf-8")
    assert (repo / "definitions.py").is_file()
    # from any folder, with EMILY_HOME pointing at it, the card is found in the home
    assert default_card_path("emily-gflownet", load_settings(home=home)).is_file()


def test_init_keeps_existing_files_unless_forced(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = init_home(home)
    assert home / "emily.toml" in first
    (home / "flags.yaml").write_text("flags: {}\n", encoding="utf-8")
    assert init_home(home) == []
    assert (home / "flags.yaml").read_text(encoding="utf-8") == "flags: {}\n"
    assert home / "flags.yaml" in init_home(home, force=True)
    assert (home / "flags.yaml").read_text(encoding="utf-8") != "flags: {}\n"


def test_init_defaults_to_emily_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMILY_HOME", str(tmp_path / "h"))
    result = CliRunner().invoke(_app(), ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "h" / "emily.toml").is_file()


def test_init_refuses_a_file_as_home(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a folder"):
        init_home(tmp_path / "f")
