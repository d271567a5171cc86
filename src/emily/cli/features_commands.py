"""``emily features materialize|get|status``: the feature store at the terminal.

The lead wires this in with ``register_features_commands(app)``. Feast itself runs in its own
environment (ADR 0010) through ``FeastRunner``; ``get`` reads the online store directly unless
``--via-feast`` asks Feast, and ``status --latency`` measures both paths. The feature-store
code (NumPy with it) is imported when a command runs, not by ``emily --help``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emily.cli._option_defaults import DEFAULT_PROJECT
from emily.core import system_clock

console = Console()
features_app = typer.Typer(
    help="Feature store (Feast): materialise alpha features, look them up, check the stores.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ProjectOption = Annotated[
    str, typer.Option("--project", help="Feast project (isolates stores sharing a Redis db).")
]
SourceOption = Annotated[
    Path | None,
    typer.Option("--source", help="Parquet offline source (default: the DVC prepare output)."),
]


def _time(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{what} {text!r} is not an ISO-8601 time") from None


@features_app.command("materialize")
def materialize(
    start: Annotated[str | None, typer.Option(help="ISO start; omit for incremental.")] = None,
    end: Annotated[str | None, typer.Option(help="ISO end (default: now).")] = None,
    source: SourceOption = None,
    project: ProjectOption = DEFAULT_PROJECT,
    as_json: JsonOption = False,
) -> None:
    """Register the feature views (feast apply) and copy offline features to the online store."""
    from emily.ops.features import FeastRunner, feature_store_config

    config = feature_store_config(project=project, source=source)
    until = _time(end, "--end") or system_clock().now()
    since = _time(start, "--start")
    with FeastRunner(config) as runner:  # one Feast process for both calls
        applied = runner.apply()
        result = runner.materialize(until, since)
    summary = {**applied, **result, "online_store": config.online, "project": project}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        console.print(
            f"materialised {result['materialized']} up to {result['end']} into the "
            f"{config.online} online store (project {project})"
        )


@features_app.command("get")
def get(
    episode_ids: Annotated[list[str], typer.Argument(help="Episode ids, e.g. ep_000001.")],
    via_feast: Annotated[
        bool, typer.Option("--via-feast", help="Ask Feast (slow start) instead of the store.")
    ] = False,
    project: ProjectOption = DEFAULT_PROJECT,
    as_json: JsonOption = False,
) -> None:
    """Online features of each episode (empty for an unknown episode)."""
    from emily.ops.features import FEATURE_NAMES, FeastRunner, OnlineFeatures, feature_store_config

    config = feature_store_config(project=project)
    if via_feast:
        with FeastRunner(config) as runner:
            columns = runner.get(episode_ids)
        rows = [{name: columns[name][i] for name in FEATURE_NAMES} for i in range(len(episode_ids))]
    else:
        with OnlineFeatures(config) as features:
            rows = features.get(episode_ids)
    records = [{"episode_id": e, **r} for e, r in zip(episode_ids, rows, strict=True)]
    if as_json:
        typer.echo(json.dumps(records))
        return
    table = Table(title=f"{config.online} online store, project {project}")
    for column in ("episode_id", *FEATURE_NAMES):
        table.add_column(column)
    for record in records:
        table.add_row(*(_cell(record[c]) for c in ("episode_id", *FEATURE_NAMES)))
    console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@features_app.command("status")
def status(
    latency: Annotated[
        bool, typer.Option("--latency", help="Also time lookups: direct read and Feast's.")
    ] = False,
    calls: Annotated[int, typer.Option(help="Lookups per latency measurement.")] = 1000,
    episode: Annotated[
        list[str] | None, typer.Option("--episode", help="Episode ids to look up.")
    ] = None,
    project: ProjectOption = DEFAULT_PROJECT,
    as_json: JsonOption = False,
) -> None:
    """Project, stores and feature views; with ``--latency``, p50/p99 of both lookup paths."""
    from emily.ops.features import (
        FeastRunner,
        OnlineFeatures,
        feature_store_config,
        measure_lookups,
    )

    config = feature_store_config(project=project)
    with FeastRunner(config) as runner:  # one Feast process for status and bench
        report: dict[str, object] = runner.status()
        if latency:
            ids = episode or ["ep_000000"]
            with OnlineFeatures(config) as features:
                direct = measure_lookups(features, ids, calls)
            report["latency_us"] = {
                "direct": direct.model_dump(),
                "feast": {"path": "feast-get_online_features", **runner.bench(ids, calls)},
            }
    if as_json:
        typer.echo(json.dumps(report))
        return
    for key, value in report.items():
        console.print(f"[bold]{key}[/bold]: {value}")


def register_features_commands(app: typer.Typer) -> None:
    """Add ``features`` to the ``emily`` app."""
    app.add_typer(features_app, name="features")
