"""``emily serve`` (the HTTP API) and ``emily remediation list|revert`` (its action log).

The API stack (FastAPI, uvicorn, the runtime with its stores) and httpx are imported by the
commands that use them, not here: ``emily --help`` imports this module (issue #19 item 3).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emily.core import InputError, system_clock
from emily.core.settings import load_settings

console = Console()
DEFAULT_PORT = 8000


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host.")
    ] = False,
    protect_metrics: Annotated[
        bool,
        typer.Option(
            "--protect-metrics/--open-metrics",
            help="Require the bearer token on /metrics too (Prometheus then needs the token).",
        ),
    ] = False,
    demo_schema_: Annotated[
        bool | None,
        typer.Option(
            "--demo-schema/--text-schema",
            help="Encode stimuli with the wine demo's feature schema, or as free text "
            "(default: the home's schema and its latest learned reflexes, if it has one; "
            "else the demo's).",
            show_default=False,
        ),
    ] = None,
    cognition: Annotated[
        bool,
        typer.Option(help="Ask cognition (GFlowNet) for hypotheses on reflex misses."),
    ] = True,
    console_rate: Annotated[
        float,
        typer.Option(
            "--console-rate",
            min=0.1,
            max=20.0,
            help="Frames per second the live console at / streams to each viewer (one frame is "
            "built per tick and shared, so viewers do not multiply the cost).",
        ),
    ] = 4.0,
) -> None:
    """Serve the HTTP API over a live runtime: stimuli, state, flags, metrics, remediation.

    Every endpoint but /healthz and /metrics needs 'Authorization: Bearer <token>'; the token is
    created on the first start in EMILY_HOME/api-token (mode 0600).
    """
    if not _is_loopback(host) and not allow_remote:
        raise InputError(
            f"--host {host} is not a loopback address: the API controls the runtime, so serving "
            "it beyond this machine needs --allow-remote (and a TLS proxy in front)"
        )
    import uvicorn

    from emily.instinct import REFLEX_TABLE, NumericFeature
    from emily.runtime import (
        DEMO_FEATURES,
        ApiOptions,
        ConsoleOptions,
        ReflexModels,
        SchemaStore,
        build_runtime,
        choose_cognition,
        create_app,
        demo_dataset,
        demo_schema,
        ensure_token,
        table_for,
        token_path,
    )

    settings = load_settings()
    token_file = token_path(settings.home)
    ensure_token(settings.home)  # fail on a bad token file before the slow build
    clock = system_clock()
    home = SchemaStore(settings.home).current() if demo_schema_ is None else None
    if home is not None:
        card = ReflexModels(settings.home).active(home)
        schema, table = home.features, card.table if card else table_for(home, "exemplar")
        threshold = card.threshold if card else None
        numeric = [n for n, f in (schema.features if schema else {}).items()
                   if isinstance(f, NumericFeature)]  # fmt: skip
        features = numeric[:4] if cognition and len(numeric) >= 2 else None
        console.print(
            f"schema: {home.name} v{home.version} of {settings.home}; reflex table {table}, "
            f"threshold {threshold or 'uncalibrated'}",
            soft_wrap=True,
        )
    else:
        schema = demo_schema(demo_dataset()) if demo_schema_ is not False else None
        table, threshold = f"{REFLEX_TABLE}_demo" if schema else REFLEX_TABLE, None
        features = list(DEMO_FEATURES) if cognition and schema is not None else None
    choice = choose_cognition(settings, features, clock) if features else None
    if choice is not None:
        from emily.runtime import NO_MODEL_SAMPLER

        used = choice.model.label if choice.model else NO_MODEL_SAMPLER
        console.print(f"cognition: {used} ({choice.reason})", soft_wrap=True)
    runtime = build_runtime(
        settings,
        schema,
        table=table,
        threshold=threshold,
        home_schema=home,
        clock=clock,
        cognition_features=features,
        cognition_model=choice.model if choice else None,
        cognition_variant=choice.variant if choice else "v1",
    )
    from emily.runtime import attach_rollouts

    close_rollouts = attach_rollouts(
        runtime, settings, features, choice.model if choice else None, clock
    )
    try:
        options = ApiOptions(
            protect_metrics=protect_metrics, console=ConsoleOptions(rate_hz=console_rate)
        )
        app = create_app(runtime, settings, clock=clock, options=options)
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}"
        console.print(f"Emily API on {base}  (docs: {base}/docs, {base}/redoc)", soft_wrap=True)
        console.print(f"bearer token: {token_file}", soft_wrap=True)
        # The token rides in the fragment, which the browser never sends to a server; it is
        # printed only to a terminal, not into a log file that the output may be going to.
        secret = f"#token={token_file.read_text().strip()}" if console.is_terminal else ""
        console.print(f"live console: {base}/{secret}", soft_wrap=True)
        uvicorn.run(app, host=host, port=port, workers=1, log_level="info")
    finally:
        runtime.close()
        close_rollouts()


remediation_app = typer.Typer(
    help="Automatic remediation: the action log, and reverting an action.",
    no_args_is_help=True,
)


@remediation_app.command("list")
def list_actions(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the remediation log (EMILY_HOME/logs/remediation.jsonl), oldest first."""
    from emily.runtime import log_path, read_log

    records = read_log(log_path(load_settings().home))
    if as_json:
        for record in records:
            typer.echo(record.model_dump_json())
        return
    if not records:
        console.print("no remediation actions yet")
        return
    table = Table(title="remediation log")
    for column in ("id", "action", "outcome"):
        table.add_column(column, no_wrap=True)  # ids are what `revert` needs: never cut them
    for column in ("when", "alert", "who", "why"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(r.id, r.action, r.outcome, r.at, r.alertname or "", r.who, r.why)
    console.print(table)


@remediation_app.command("revert")
def revert_action(
    action_id: Annotated[str, typer.Argument(help="The id from `emily remediation list`.")],
    url: Annotated[
        str, typer.Option(help="Where `emily serve` listens.")
    ] = f"http://127.0.0.1:{DEFAULT_PORT}",
) -> None:
    """Revert an action that is in force, through the running server (it holds the state)."""
    import httpx

    from emily.runtime import ensure_token, token_path

    settings = load_settings()
    path = token_path(settings.home)
    if not path.is_file():
        raise InputError(f"no API token at {path}: start `emily serve` first (it creates one)")
    token = ensure_token(settings.home)
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/remediation/{action_id}/revert",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
    except httpx.TransportError:
        raise InputError(
            f"no `emily serve` is answering at {url}: remediation actions live in the server's "
            "runtime, so start it (or pass --url) and try again"
        ) from None
    if response.status_code != 200:
        try:
            detail = str(response.json().get("detail", response.text))
        except json.JSONDecodeError:
            detail = response.text
        raise InputError(f"revert of {action_id} refused ({response.status_code}): {detail}")
    record = response.json()
    console.print(f"reverted {action_id}: {record['action']} (log record {record['id']})")


def register_serve_commands(app: typer.Typer) -> None:
    """Add ``emily serve`` and ``emily remediation`` to the ``emily`` command."""
    app.command("serve")(serve)
    app.add_typer(remediation_app, name="remediation")
