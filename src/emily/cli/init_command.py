"""``emily init [DIR]``: make a home anywhere, from the files shipped in the package.

Why: a wheel (or the Docker runtime image) has no checkout beside it, so nothing a command needs
may come from one. ``init`` writes what a checkout used to provide, from ``emily._data``:

* ``emily.toml``: the config, pinning ``home`` to DIR (``cd DIR`` and every command uses it;
  from elsewhere, ``EMILY_HOME=DIR``);
* ``flags.yaml``: the default feature flags;
* ``model_cards/``: the card template (``emily-gflownet.yaml``) and its JSON schema, found by
  ``train --register`` / ``models register``;
* ``features/<project>/repo``: the rendered Feast repo ``emily features`` runs.

Existing files are kept (re-running ``init`` is safe); ``--force`` rewrites them. The lead wires
it in with ``register_init_command(app)``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
import yaml

from emily._data import data_path
from emily.cli._option_defaults import DEFAULT_PROJECT
from emily.core.settings import check_home, load_settings
from emily.ops.flags import DEFAULT_FLAGS
from emily.ops.registry import CARDS_FOLDER

CARD_FILES = ("emily-gflownet.yaml", "model_card.schema.json")


def _config_text(home: Path) -> str:
    return (
        "# Emily Sovereign configuration (written by `emily init`). Every EMILY_* variable has a\n"
        "# key here (lower case, no prefix); the variable wins over the file.\n"
        f"home = {json.dumps(str(home))}\n"  # a JSON string is a TOML basic string
    )


def init_home(home: Path, *, force: bool = False, project: str = DEFAULT_PROJECT) -> list[Path]:
    """Create (or complete) the home at ``home``; return the files written, in order."""
    from emily.ops.features import feature_store_config, render_repo  # NumPy: not at start

    home = home.expanduser().absolute()
    check_home(home)
    home.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        if path.exists() and not force:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    write(home / "emily.toml", _config_text(home))
    flags = DEFAULT_FLAGS.model_dump(mode="json", exclude_none=True)
    write(home / "flags.yaml", yaml.safe_dump(flags, sort_keys=True))
    for name in CARD_FILES:
        target = home / CARDS_FOLDER / name
        if force or not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data_path("model_cards", name), target)
            written.append(target)
    config = feature_store_config(load_settings(home=home), project=project)
    repo = Path(config.repo_dir)
    if force or not (repo / "feature_store.yaml").exists():
        render_repo(config)
        written += [repo / "feature_store.yaml", repo / "definitions.py"]
    return written


def init(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Folder of the new home (default: EMILY_HOME, else ./.emily)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rewrite files that exist.")] = False,
) -> None:
    """Create a home with its config, flags, model-card template and feature-store repo."""
    home = (directory or load_settings(check_home_folder=False).home).expanduser().absolute()
    written = init_home(home, force=force)
    for path in written:
        typer.echo(f"wrote {path}")
    if not written:
        typer.echo(f"{home} is already initialised (--force rewrites its files)")
    typer.echo(f"use it: cd {home}  (or export EMILY_HOME={home})")


def register_init_command(app: typer.Typer) -> None:
    """Add ``init`` to the ``emily`` app."""
    app.command("init")(init)
