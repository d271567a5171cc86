"""``emily ask`` and ``emily report``: answers from the docs, and the seed's success metrics.

The lead wires these into the main app with ``register_knowledge_commands(app)``. Both find the
documentation in the clone Emily runs from (``--docs`` overrides) and keep their state under
EMILY_HOME.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emily.core.settings import load_settings

DocsOption = Annotated[
    Path | None,
    typer.Option(
        "--docs", help="Repository root holding mkdocs.yml and docs/ (default: found upwards)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
_STATUS_STYLE = {"ok": "green", "failing": "red", "not measured": "yellow"}


def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    top: Annotated[int, typer.Option("--top", help="Passages to cite.")] = 3,
    docs: DocsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the docs and runbooks by semantic search, citing the pages.

    The pages are split by heading, embedded with the offline sentence model and kept in
    LanceDB under EMILY_HOME/knowledge (rebuilt when the docs change); the answer quotes the
    closest sentences, and each passage names its page and section.
    """
    from emily.memory import SentenceEmbedder
    from emily.ops.knowledge import DocsIndex, ask, find_docs_root

    settings = load_settings()
    index = DocsIndex(find_docs_root(docs), settings.path("knowledge"), SentenceEmbedder())
    result = ask(index, question, top)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    console = Console()
    console.print(f"[bold]{escape(result.answer or 'No passage matched.')}[/bold]\n")
    for i, hit in enumerate(result.hits, 1):
        p = hit.passage
        console.print(
            f"[cyan]\\[{i}][/cyan] {escape(p.title)} › {escape(p.heading)}  "
            f"[dim]{escape(p.path)} (score {hit.score:.2f})[/dim]"
        )
        excerpt = " ".join(p.text.split())
        console.print(f"    {escape(excerpt[:300])}{'…' if len(excerpt) > 300 else ''}")


def report_command(
    drill: Annotated[
        bool,
        typer.Option(
            "--drill", help="Restore the latest snapshot into a temporary folder and verify it."
        ),
    ] = False,
    docs: DocsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the seed's success metrics: coverage, last test run, clean clone to green tests,
    backup and restore verification, data lineage; each says how it was measured, or how to
    measure it.

    Records are read from EMILY_HOME. Exits 1 when a metric misses its target ("failing"), so a
    script can gate on it; "not measured" alone exits 0.
    """
    from emily.ops.knowledge import build_report, find_docs_root

    report = build_report(load_settings(), find_docs_root(docs), drill=drill)
    failing = any(m.status == "failing" for m in report.metrics)
    if as_json:
        typer.echo(json.dumps(report.model_dump()))
        if failing:
            raise typer.Exit(1)
        return
    table = Table(title="emily report")
    for column in ("metric", "value", "target", "status", "how it was measured / how to measure"):
        table.add_column(column)
    for m in report.metrics:
        style = _STATUS_STYLE[m.status]
        table.add_row(
            m.name,
            escape(m.value),
            escape(m.target),
            f"[{style}]{m.status}[/{style}]",
            escape(f"{m.detail}; {m.measure}"),
        )
    Console().print(table)
    if failing:
        raise typer.Exit(1)


def register_knowledge_commands(app: typer.Typer) -> None:
    """Add ``ask`` and ``report`` to the ``emily`` app."""
    app.command("ask")(ask_command)
    app.command("report")(report_command)
