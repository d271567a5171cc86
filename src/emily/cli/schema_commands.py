"""``emily schema infer|show``: the one schema a home's files are read with.

The lead wires this in with ``register_schema_commands(app)``. Inference and storage live in
:mod:`emily.runtime.schema_store`; these commands are thin shells over it, importing it (and
NumPy, PyArrow with it) when they run, so ``emily --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily.cli._option_defaults import LABEL
from emily.core import InputError, system_clock

if TYPE_CHECKING:
    from emily.runtime import HomeSchema

console = Console(soft_wrap=True)  # long paths and commands stay on one line, copyable
schema_app = typer.Typer(
    help="The home's schema: which columns every file must have, their ranges and categories. "
    "Infer it once from your training file; every later file is read with it, so reflexes "
    "learned from one file answer the next.",
    no_args_is_help=True,
)
DEFAULT_NAME = "default"
SHOWN_CATEGORIES = 12


@schema_app.command("infer")
def infer(
    file: Annotated[
        Path, typer.Argument(help="A .csv or .jsonl file of stimuli, usually your training set.")
    ],
    label: Annotated[
        str,
        typer.Option(
            "--label",
            help="Column (CSV) or key (JSONL) holding the label; scikit-learn frames use target.",
        ),
    ] = LABEL,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Schema name (letters, digits, - and _): the current schema's, else 'default'.",
        ),
    ] = None,
    new_version: Annotated[
        bool,
        typer.Option(
            "--new-version",
            help="Replace the current schema with version N+1 inferred from FILE; reflexes "
            "learned under version N stay in their own table.",
        ),
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Infer from the first SAMPLE stimuli only (default: all)."),
    ] = None,
) -> None:
    """Infer the home's schema from FILE and make it current.

    Numeric columns get their observed range widened by 10 %; text columns become categories
    (plus a reserved <unknown> for values never seen here). Later files are conformed to this
    schema: out-of-range numbers are clamped and unseen categories become <unknown> (both
    counted); a new, missing or retyped column stops with a message. Refuses to replace an
    existing schema unless --new-version is given.
    """
    from emily.cli._home_data import counting_labels, likely_labels
    from emily.core.settings import load_settings
    from emily.runtime import SchemaStore, infer_home_schema, read_path

    settings = load_settings()
    store = SchemaStore(settings.home)
    current = store.current()
    if current is not None and not new_version:
        raise InputError(
            f"{settings.home} already has schema {current.name} v{current.version} (inferred "
            f"from {current.source}); nothing was changed. To replace it, run `emily schema "
            f"infer {file} --new-version`: that makes v{current.version + 1}, and reflexes "
            f"learned under v{current.version} stay in table {current.reflex_table}"
        )
    chosen = name or (current.name if current is not None else DEFAULT_NAME)
    labelled: list[int] = [0]
    schema = infer_home_schema(
        counting_labels(read_path(file, label=label), labelled),
        name=chosen,
        source=str(file),
        label_column=label,
        clock=system_clock(),
        version=store.next_version(chosen),
        sample=sample,
    )
    store.save(schema)
    _print(schema)
    console.print(
        f"[green]saved[/green] {escape(str(store.path(schema.name, schema.version)))} "
        f"(current); reflexes will be learned into table {schema.reflex_table}"
    )
    if not labelled[0]:
        suspects = sorted(likely_labels(schema))
        hint = f" (did you mean --label {suspects[0]}?)" if suspects else ""
        console.print(
            f"[yellow]warning[/yellow]: no stimulus had a {label!r} label, so nothing can be "
            f"learned from {escape(str(file))}{hint}; if the label is a feature now, rerun "
            "with --label COL --new-version"
        )


@schema_app.command("show")
def show(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the schema as one JSON object.")
    ] = False,
) -> None:
    """Show the home's current schema: each feature's type, range or categories, the label
    column, the reflex table, and the calibrated threshold once there is one."""
    from emily.core.settings import load_settings
    from emily.runtime import SchemaStore

    settings = load_settings()
    schema = SchemaStore(settings.home).current()
    if schema is None:
        raise InputError(
            f"{settings.home} has no schema yet; expected one: run `emily schema infer FILE` "
            "on your training file first"
        )
    if as_json:
        typer.echo(
            json.dumps({**schema.model_dump(mode="json"), "reflex_table": schema.reflex_table})
        )
        return
    _print(schema)


def _print(schema: HomeSchema) -> None:
    from emily.instinct import NumericFeature

    console.print(
        f"schema [bold]{escape(schema.name)}[/bold] v{schema.version}, {schema.kind}, inferred "
        f"from {escape(schema.source)} at {schema.created_at.isoformat(timespec='seconds')}; "
        f"label column {escape(schema.label_column)!r}; reflex table {schema.reflex_table}"
    )
    if schema.features is not None:
        table = Table(title=f"{len(schema.features.features)} features")
        for column in ("feature", "type", "range / categories", "levels"):
            table.add_column(column)
        for feature, spec in schema.features.features.items():
            if isinstance(spec, NumericFeature):
                table.add_row(
                    escape(feature),
                    "numeric",
                    f"{spec.low:.6g} … {spec.high:.6g}",
                    str(spec.levels),
                )
            else:
                shown = ", ".join(spec.categories[:SHOWN_CATEGORIES])
                more = len(spec.categories) - SHOWN_CATEGORIES
                shown += f", … ({more} more)" if more > 0 else ""
                table.add_row(escape(feature), "categorical", escape(shown), "-")
        console.print(table)
    if schema.threshold is not None:
        details = ", ".join(f"{k}={v}" for k, v in (schema.calibration or {}).items())
        console.print(
            f"threshold {schema.threshold:.6g}" + (f" ({escape(details)})" if details else "")
        )
    else:
        console.print("threshold: not calibrated yet")


def register_schema_commands(app: typer.Typer) -> None:
    """Add ``schema`` to the ``emily`` app."""
    app.add_typer(schema_app, name="schema")
