"""``emily models``, ``emily flags`` and ``emily ui``: research operations at the terminal.

The lead wires these into the main app with ``register_ops_commands(app)``. Each command is a
thin shell over ``emily.ops``: arguments in, one call, a table (or ``--json``) out; deliberate
errors surface as ``EmilyError`` and print as one line.
"""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily.cli.rollout_commands import register_rollout_commands
from emily.core import InputError
from emily.core.settings import load_settings
from emily.ops.flags import FlagStore, flags_path
from emily.ops.registry import ModelRegistry, default_card_path
from emily.ops.tracking import TrackingConfig, quiet_mlflow, tracking_config

console = Console()
models_app = typer.Typer(
    help="Registered models: register, list, promote, roll back, and every decision's history.",
    no_args_is_help=True,
)
flags_app = typer.Typer(
    help="Feature flags in EMILY_HOME/flags.yaml (served through OpenFeature, hot-reloaded).",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WhyOption = Annotated[str, typer.Option("--why", help="Reason, kept in the decision ledger.")]
AliasOption = Annotated[str, typer.Option("--alias", help="champion or challenger.")]


def current_user() -> str:
    """Who the ledger records for a decision made at this terminal."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown-user"


@models_app.command("list")
def models_list(as_json: JsonOption = False) -> None:
    """List registered models with their version count and alias holders."""
    models = ModelRegistry().list_models()
    if as_json:
        typer.echo(json.dumps([m.model_dump() for m in models]))
        return
    table = Table(title="registered models")
    for column in ("model", "versions", "latest", "aliases"):
        table.add_column(column)
    for m in models:
        aliases = ", ".join(f"@{a}=v{v}" for a, v in m.aliases.items()) or "-"
        table.add_row(m.name, str(m.versions), m.latest_version or "-", aliases)
    console.print(table)


@models_app.command("register")
def models_register(
    run_id: Annotated[str, typer.Argument(help="The tracked run that logged the model.")],
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    card: Annotated[
        Path | None,
        typer.Option(
            "--card",
            help="Model card YAML (default ./model_cards/NAME.yaml, else "
            "EMILY_HOME/model_cards/NAME.yaml).",
        ),
    ] = None,
    why: Annotated[str, typer.Option("--why", help="Reason, kept in the ledger.")] = "trained",
) -> None:
    """Register a run's model with its model card (metrics are copied from the run)."""
    card_path = card or default_card_path(name, load_settings())
    info = ModelRegistry().register(
        run_id=run_id, name=name, card=card_path, who=current_user(), why=why
    )
    console.print(f"registered {escape(name)} v{info.version} from run {run_id}")


ROLLOUT_KINDS = ("canary", "shadow", "ab", "bluegreen")


def _refuse_rollout_alias(alias: str, version: str) -> None:
    """A rollout is started, not aliased: say which command does it instead of 'bad alias'."""
    if alias in ROLLOUT_KINDS:
        raise InputError(
            f"{alias} is a rollout, not an alias (aliases: champion, challenger): start one with "
            f"`emily models {alias} start NAME {version}`, see `emily models {alias} --help`"
        )


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version to promote.")],
    why: WhyOption,
    alias: AliasOption = "champion",
) -> None:
    """Point an alias (default champion) at a version; the move is recorded with --why."""
    _refuse_rollout_alias(alias, version)
    decision = ModelRegistry().promote(name, version, alias=alias, who=current_user(), why=why)
    before = f"v{decision.previous_version}" if decision.previous_version else "nobody"
    console.print(f"{escape(name)}@{alias}: {before} → v{decision.version}")


@models_app.command("rollback")
def models_rollback(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    why: WhyOption,
    alias: AliasOption = "champion",
) -> None:
    """Give an alias back to the version that held it before (per the decision ledger)."""
    decision = ModelRegistry().rollback(name, alias=alias, who=current_user(), why=why)
    console.print(f"{escape(name)}@{alias}: v{decision.previous_version} → v{decision.version}")


@models_app.command("history")
def models_history(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every decision about models: who did what, why and when (oldest first)."""
    decisions = ModelRegistry().history(name)
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in decisions]))
        return
    table = Table(title="model decisions")
    for column in ("when", "who", "what", "model", "version", "alias", "was", "why"):
        table.add_column(column)
    for d in decisions:
        table.add_row(
            d.when.isoformat(timespec="seconds"),
            d.who,
            d.what,
            d.model,
            d.version or "-",
            d.alias or "-",
            d.previous_version or "-",
            escape(d.why),
        )
    console.print(table)


@models_app.command("rollouts")
def models_rollouts(as_json: JsonOption = False) -> None:
    """Canary, A/B and blue-green rollouts saved under EMILY_HOME, with their state."""
    from emily.ops.rollout import RolloutStore

    records = RolloutStore.default().records()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records]))
        return
    table = Table(title="rollouts")
    for column in ("rollout", "kind", "updated", "observations", "state"):
        table.add_column(column)
    for r in records:
        state = ", ".join(f"{k}={v}" for k, v in r.state.items() if k != "decision")
        table.add_row(r.id, r.kind, r.updated_at, str(r.observations), escape(state))
    console.print(table)


register_rollout_commands(models_app)  # emily models canary|shadow ...


@flags_app.command("list")
def flags_list(as_json: JsonOption = False) -> None:
    """List the flags in force; a malformed file is reported and the last good flags shown."""
    store = FlagStore(flags_path())
    flags = store.flags().flags
    if as_json:
        payload = {
            "path": str(store.path),
            "error": store.last_error,
            "flags": {k: v.model_dump(mode="json") for k, v in flags.items()},
        }
        typer.echo(json.dumps(payload))
        return
    if store.last_error:
        console.print(f"[yellow]warning:[/yellow] {escape(store.last_error)}", soft_wrap=True)
    table = Table(title=f"flags ({store.path})")
    for column in ("flag", "enabled", "default", "rollout", "rules", "description"):
        table.add_column(column)
    for key, spec in sorted(flags.items()):
        rollout = f"{spec.rollout.variant} to {spec.rollout.percent:g} %" if spec.rollout else "-"
        table.add_row(
            key,
            "yes" if spec.enabled else "no",
            spec.default_variant,
            rollout,
            str(len(spec.targeting)),
            escape(spec.description),
        )
    console.print(table)


@flags_app.command("set")
def flags_set(
    key: Annotated[str, typer.Argument(help="Flag name, e.g. enable_gflownet_v2.")],
    variant: Annotated[str, typer.Argument(help="Variant name, e.g. on or off.")],
    percent: Annotated[
        float | None,
        typer.Option("--percent", help="Roll VARIANT out to this stable share of keys (0-100)."),
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Switch the flag on or off.")
    ] = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create", help="Add KEY as a new on/off flag (default off) if it does not exist."
        ),
    ] = False,
) -> None:
    """Set a flag's default variant, or start a percentage rollout with --percent.

    An unknown KEY is refused (a typo would otherwise add a flag that no code reads) unless
    --create is given; a new flag has the variants on and off.
    """
    store = FlagStore(flags_path(), check_interval_s=0.0)
    known = store.flags().flags
    # A malformed file is refused by set_variant itself, with that (more useful) message.
    if not create and store.last_error is None and key not in known:
        raise InputError(
            f"unknown flag {key!r} in {store.path}: expected one of "
            f"{', '.join(sorted(known)) or '(none)'}; add it with `emily flags set {key} "
            f"{variant} --create`"
        )
    spec = store.set_variant(key, variant, percent=percent, enabled=enabled)
    rollout = f", {spec.rollout.variant} to {spec.rollout.percent:g} %" if spec.rollout else ""
    console.print(f"{escape(key)}: default {spec.default_variant}{rollout}")


def build_ui_command(config: TrackingConfig, *, port: int) -> list[str]:
    """The ``mlflow ui`` command line: loopback only, one worker (2-core machines)."""
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", config.tracking_uri]
    if config.artifact_root is not None:
        command += ["--default-artifact-root", config.artifact_root]
    return [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]


def ui(
    port: Annotated[int, typer.Option("--port", help="Loopback port for the UI.")] = 5000,
) -> None:
    """Start the MLflow UI on 127.0.0.1 over Emily's tracking store (Ctrl-C stops it)."""
    config = tracking_config()
    if config.tracking_uri.startswith(("http://", "https://")):
        console.print(f"runs are tracked by the server at {config.tracking_uri}: open it there")
        return
    quiet_mlflow()
    console.print(f"MLflow UI on http://127.0.0.1:{port} (tracking {config.tracking_uri})")
    try:
        subprocess.run(build_ui_command(config, port=port), check=False)
    except KeyboardInterrupt:
        console.print("stopped")


def register_ops_commands(app: typer.Typer) -> None:
    """Add ``models`` (with its rollouts), ``flags`` and ``ui`` to the ``emily`` app."""
    app.add_typer(models_app, name="models")
    app.add_typer(flags_app, name="flags")
    app.command("ui")(ui)
