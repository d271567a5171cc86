"""``emily migrate``, ``emily sleep`` and ``emily ingest``: the memory tier's commands.

The lead wires these into the main app (``app.add_typer(migrate_app, name="migrate")``,
``app.command("sleep")(sleep)``, ``app.command("ingest")(ingest)``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from emily.core.settings import load_settings

if TYPE_CHECKING:
    from emily.core.settings import EmilySettings
    from emily.memory import Memory

migrate_app = typer.Typer(
    name="migrate",
    help="Versioned store migrations: status, up, down, verify (with a ledger in the store).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="Migrations folder (default: the migrations shipped in the package)."
    ),
]


@migrate_app.command("status")
def status(directory: DirOption = None) -> None:
    """List every migration, whether it is applied, when, and whether its file changed since."""
    from emily.memory import open_migrator

    migrator = open_migrator(load_settings(), directory)
    table = Table(title="migrations")
    for col in ("id", "name", "applied", "applied at", "checksum"):
        table.add_column(col)
    for s in migrator.status():
        changed = " [red](file changed)[/red]" if s.changed else ""
        table.add_row(
            s.id,
            s.name,
            "yes" if s.applied else "no",
            s.applied_at.isoformat() if s.applied_at else "",
            s.checksum[:12] + changed,
        )
    console.print(table)


@migrate_app.command("up")
def up(
    target: Annotated[str | None, typer.Option(help="Stop after this migration id.")] = None,
    directory: DirOption = None,
) -> None:
    """Apply pending migrations in order; each is recorded only after its verify passes."""
    from emily.memory import open_migrator

    ran = open_migrator(load_settings(), directory).up(target)
    console.print(f"applied: {', '.join(ran) if ran else 'nothing (up to date)'}")


@migrate_app.command("down")
def down(
    steps: Annotated[int, typer.Option(help="How many applied migrations to roll back.")] = 1,
    directory: DirOption = None,
) -> None:
    """Roll back the most recently applied migrations."""
    from emily.memory import open_migrator

    rolled = open_migrator(load_settings(), directory).down(steps)
    console.print(f"rolled back: {', '.join(rolled) if rolled else 'nothing'}")


@migrate_app.command("verify")
def verify(directory: DirOption = None) -> None:
    """Run verify of every applied migration; exit 1 if any fails."""
    from emily.memory import open_migrator

    results = open_migrator(load_settings(), directory).verify()
    for mid, ok in results.items():
        console.print(f"{'[green]✓[/green]' if ok else '[red]✗[/red]'} {mid}")
    if not all(results.values()):
        raise typer.Exit(code=1)


def sleep(
    min_confirmations: Annotated[
        int, typer.Option(help="Confirmations that promote a stimulus→response pair.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Sleep consolidation: episodes → reflexes and semantic memory (durable, resumable)."""
    from emily.memory import open_memory

    settings = load_settings()
    threading.Thread(target=_warm_sentence_model, name="emily-sleep-warm", daemon=True).start()
    with open_memory(settings) as memory, _sleep_progress() as progress:
        _route_to_home_schema(memory, settings)
        report = memory.consolidation(min_confirmations=min_confirmations).run(progress)
    if as_json:
        typer.echo(report.model_dump_json())
    else:
        console.print(
            f"consolidated {report.episodes} episodes in {report.groups} groups "
            f"({report.runs} run(s)); reflexes promoted: {report.reflexes}"
        )


def _warm_sentence_model() -> None:
    """Load the sentence model while the graph server starts: both take seconds on a resume
    (3,000 episodes: ~7 s each, measured by benchmarks/recovery.py), and they need not queue."""
    from emily.memory import SentenceEmbedder

    with suppress(Exception):  # a failure here is raised, with its reason, at the first embed
        SentenceEmbedder().embed(["warm-up"])


@contextmanager
def _sleep_progress() -> Iterator[Callable[[int, int], None]]:
    """A bar on a terminal; piped, one plain line per change (each durable step), on stdout,
    so a log or a supervisor sees the run advance (``sleep: 4,000/10,000 episodes ...``)."""
    if console.is_terminal:
        with Progress(console=console) as bar:
            task = bar.add_task("consolidating", total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    shown: list[tuple[int, int]] = []

    def line(done: int, total: int) -> None:
        if not shown or shown[-1] != (done, total):
            shown.append((done, total))
            typer.echo(f"sleep: {done:,}/{total:,} episodes consolidated")

    yield line


def _route_to_home_schema(memory: Memory, settings: EmilySettings) -> None:
    """Promote into the table a schema'd home answers from, with its encoder: ``emily run`` and
    ``emily serve`` read ``reflexes_<schema>_v<N>``, never ``reflexive_memory``."""
    from emily.runtime import SchemaStore, table_for

    home = SchemaStore(settings.home).current()
    if home is not None:
        memory.reflexes.route_to_home(table_for(home, "exemplar"), home.features)


def ingest(
    path: Annotated[Path, typer.Argument(help="A .jsonl, .json, .csv or .parquet file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """ETL into semantic memory: records → text embeddings and hypervectors → LanceDB."""
    from emily.memory import run_ingest

    report = run_ingest(path, load_settings())
    typer.echo(json.dumps(report) if as_json else f"ingested {report['records']} records")
