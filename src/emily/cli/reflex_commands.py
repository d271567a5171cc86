"""``emily reflexes export --wasm DIR``: the home's reflexes as a static page that answers offline.

Registered by ``register_reflex_commands(app)``. The bundle (kernel, matrix, codebooks, page) is
described in :mod:`emily.instinct.wasm`; this command only finds what to put in it: the home's
current schema, its active reflex model (``--model`` picks another) and that model's table.
NumPy and LanceDB are imported when the command runs, so ``emily --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from emily.cli._option_defaults import ModelKind
from emily.core import InputError

reflexes_app = typer.Typer(
    help="The home's learned reflexes: export them to run in a browser (WebAssembly).",
    no_args_is_help=True,
)


@reflexes_app.command("export")
def export(
    wasm: Annotated[
        Path,
        typer.Option(
            "--wasm",
            metavar="DIR",
            help="Folder to write the static bundle into (created; an older bundle's files are "
            "replaced): the wasm kernel, the reflexes, the encoder's codebooks and index.html.",
        ),
    ],
    model: Annotated[
        ModelKind | None,
        typer.Option("--model", help="Which learned model to export (default: the latest)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary last.")] = False,
) -> None:
    """Write the home's reflexes as a page that answers typed-in stimuli in the browser.

    The page encodes a stimulus exactly as Emily does and finds its nearest reflex with the
    reflex kernel compiled to WebAssembly: same reflex, same similarity, no server. Serve DIR
    with any static file server (`python -m http.server -d DIR`) and open it.
    """
    if wasm.exists() and not wasm.is_dir():
        raise InputError(f"--wasm {wasm} is a file; expected a folder to write the bundle into")
    from emily.instinct import require_kernel

    require_kernel()  # before touching the home: the one-line way to build it
    from emily.cli._home_data import encoder_for
    from emily.core.settings import load_settings
    from emily.instinct import BundleReflexes, LanceDBReflexStore, SchemaDriftError, write_bundle
    from emily.runtime import ReflexModels, SchemaStore, table_for

    settings = load_settings()
    schema = SchemaStore(settings.home).current()
    if schema is None:
        raise InputError(
            f"{settings.home} has no schema and no reflexes yet; expected learned reflexes: "
            "run `emily learn TRAIN_FILE` first"
        )
    card = ReflexModels(settings.home).active(schema, model)
    rows = []
    if card is not None:  # no card: no table either (opening one would create it)
        store = LanceDBReflexStore(
            settings.lancedb_uri or settings.path("lancedb"),
            settings.hdc_dim,
            table_name=table_for(schema, card.kind),
        )
        rows = store.load()
    if card is None or not rows:
        which = f"{model} " if model else ""
        raise InputError(
            f"no {which}reflexes learned under schema {schema.name} v{schema.version}; expected "
            f"some: run `emily learn TRAIN_FILE{' --model ' + model if model else ''}` first"
        )
    encoder = encoder_for(settings, schema)
    for row in rows:
        if row.encoder and row.encoder != encoder.fingerprint:
            raise SchemaDriftError(
                f"stored reflex {row.id!r} was encoded by {row.encoder!r}, not by this home's "
                f"encoder ({encoder.fingerprint!r}); check EMILY_SEED and EMILY_HDC_DIM"
            )
    import numpy as np

    width = settings.hdc_dim // 8
    reflexes = BundleReflexes(
        vectors=np.frombuffer(b"".join(r.vector for r in rows), np.uint8).reshape(-1, width),
        ids=[r.id for r in rows],
        responses=[r.response for r in rows],
        confidences=[r.confidence for r in rows],
        stimuli=[r.stimulus for r in rows],
    )
    written = write_bundle(
        wasm,
        reflexes,
        dim=settings.hdc_dim,
        threshold=card.threshold,
        encoder=encoder,
        title=f"schema {schema.name} v{schema.version}, {card.kind} reflexes",
        fingerprint=encoder.fingerprint,
    )
    size = sum(p.stat().st_size for p in written)
    console = Console(stderr=as_json, soft_wrap=True)
    console.print(
        f"[green]wrote[/green] {escape(str(wasm))}: {len(rows):,} {card.kind} reflexes of schema "
        f"{escape(schema.name)} v{schema.version}, {len(written)} files, {size / 1e6:.1f} MB; "
        f"serve it with `python -m http.server -d {escape(str(wasm))}` and open "
        "http://127.0.0.1:8000/"
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "folder": str(wasm),
                    "reflexes": len(rows),
                    "model": card.kind,
                    "threshold": card.threshold,
                    "files": sorted(p.name for p in written),
                    "bytes": size,
                }
            )
        )


def register_reflex_commands(app: typer.Typer) -> None:
    """Add the ``reflexes`` group to the ``emily`` app."""
    app.add_typer(reflexes_app, name="reflexes")
