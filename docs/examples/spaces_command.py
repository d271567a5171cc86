"""A new CLI command: `emily spaces` lists the hypothesis spaces `emily train --env` takes.

Commands are registered one way: a module in `emily/cli/` holds the command and a
`register_..._command(app)` function, and `emily/cli/app.py` calls it once. The logic stays in
its tier (here the registry of `emily.cognition.envs.registry`); the command only reads options
and prints. Heavy engines are imported inside the command, never at the module's top, so
`emily --help` stays fast.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from emily.cognition.envs.registry import hypothesis_space, space_names


def spaces(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the hypothesis spaces `emily train --env` takes, with their default variant."""
    rows = [hypothesis_space(name) for name in space_names()]
    if as_json:
        payload = {s.name: {"variant": s.default_variant, "summary": s.summary} for s in rows}
        typer.echo(json.dumps(payload))
        return
    for s in rows:
        typer.echo(f"{s.name:<12} {s.default_variant:<6} {s.summary}")


def register_spaces_command(app: typer.Typer) -> None:
    """Add `spaces` to the `emily` app (one line in emily/cli/app.py calls this)."""
    app.command("spaces")(spaces)


if __name__ == "__main__":
    from emily.cli.app import app

    register_spaces_command(app)
    app(["spaces", "--json"])
