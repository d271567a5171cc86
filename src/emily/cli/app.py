"""``emily``: the command line of Emily Sovereign.

Typer builds ``--help`` from the docstrings below, so they are written for the researcher at the
terminal. Errors Emily raises on purpose (``EmilyError``) print as one red line and exit 2;
anything else is a bug and keeps its traceback.

Start-up is kept light (issue #19 item 3: ``emily --help`` and ``emily version`` in under a
second): the command modules import their engines (torch, MLflow, LanceDB, the API stack,
NumPy) inside the commands, and the option types and defaults ``--help`` shows come from light
modules (``emily.cli._option_defaults``, ``emily.runtime.model_names``).
``tests/unit/cli/test_cli_startup.py`` fails if a help page loads a heavy engine;
``benchmarks/startup.py`` times it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily import __version__
from emily.cli import cognition as cognition_commands
from emily.cli import run as run_command
from emily.cli.backup_commands import register_backup_commands
from emily.cli.features_commands import register_features_commands
from emily.cli.init_command import register_init_command
from emily.cli.knowledge_commands import register_knowledge_commands
from emily.cli.learn_eval import register_learn_eval_commands
from emily.cli.memory import ingest, migrate_app, sleep
from emily.cli.ops_commands import register_ops_commands
from emily.cli.reflex_commands import register_reflex_commands
from emily.cli.schema_commands import register_schema_commands
from emily.cli.serve_commands import register_serve_commands
from emily.core.errors import EmilyError

if TYPE_CHECKING:
    from emily.ops.doctor import CheckResult

app = typer.Typer(
    name="emily",
    help="Emily Sovereign: a self-hosted triune cognitive architecture "
    "(nervous system, instinct, cognition, memory) and its research-operations loop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.command()
def version() -> None:
    """Print the installed version of emily-sovereign."""
    console.print(f"emily-sovereign {__version__}")


def _render(results: list[CheckResult]) -> None:
    table = Table(title="emily doctor")
    table.add_column("", width=1)
    table.add_column("check", no_wrap=True)
    table.add_column("detail")
    for r in results:
        if r.ok:
            mark = "[green]✓[/green]"
        else:
            mark = "[red]✗[/red]" if r.required else "[yellow]–[/yellow]"
        table.add_row(mark, r.name, escape(r.detail))
    console.print(table)
    for r in results:
        if not r.ok and r.fix:
            mark = "[red]✗[/red]" if r.required else "[yellow]–[/yellow]"
            console.print(f"{mark} {r.name}: fix: {escape(r.fix)}", soft_wrap=True)


@app.command()
def doctor(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the results as one JSON object.")
    ] = False,
) -> None:
    """Check this machine can run Emily: Python, EMILY_HOME, disk, each configured engine.

    Prints ✓ or ✗ per check with the exact fix for each ✗ (– marks an optional part that is
    absent). Exits 1 if a required check fails.
    """
    from emily.core.settings import load_settings
    from emily.ops.doctor import healthy, run_checks

    settings = load_settings(check_home_folder=False)  # an unusable home is one of its checks
    results = run_checks(settings)
    ok = healthy(results)
    if as_json:
        payload = {"ok": ok, "checks": [r.model_dump() for r in results]}
        typer.echo(json.dumps(payload))
    else:
        _render(results)
        summary = "[green]ready[/green]" if ok else "[red]not ready: fix the ✗ lines above[/red]"
        console.print(summary)
    if not ok:
        raise typer.Exit(code=1)


run_command.register_run_commands(app)
register_learn_eval_commands(app)
register_schema_commands(app)
register_ops_commands(app)
register_features_commands(app)
register_backup_commands(app)
register_serve_commands(app)
register_knowledge_commands(app)
register_init_command(app)
register_reflex_commands(app)
app.add_typer(migrate_app, name="migrate")
app.command("sleep")(sleep)
app.command("ingest")(ingest)
app.command("train")(cognition_commands.train)
app.command("sample")(cognition_commands.sample)


def main() -> None:
    """Console-script entry point: run the app, turning deliberate errors into one clear line.

    The umask is set first so that every file any command (or a server it starts) creates
    under ``EMILY_HOME`` is private (see ``emily.core.private_files``).
    """
    from emily.core.private_files import use_private_umask

    use_private_umask()
    try:
        app()
    except EmilyError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
