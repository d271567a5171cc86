"""``emily run``: the main job — stream stimuli through the triune loop with a live view."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.live import Live

from emily.core import Clock, InputError, system_clock
from emily.core.settings import EmilySettings, load_settings
from emily.instinct import REFLEX_TABLE, CategoricalFeature, NumericFeature, StimulusSchema
from emily.runtime.builder import DEMO_FEATURES, build_runtime, demo_schema
from emily.runtime.bus import STIMULI_END_KEY, STIMULI_KEY, BusStimuli, ResilientPublisher, ZenohBus
from emily.runtime.champion import DEFAULT_MODEL, choose_cognition
from emily.runtime.display import render
from emily.runtime.stimuli import (
    Stimulus,
    demo_dataset,
    demo_stream,
    read_csv,
    read_jsonl,
    read_path,
)

console = Console()
SCHEMA_SAMPLE = 256
FLUSH_TIMEOUT_S = 30.0
PUBLISH_CHUNK = 64


def infer_schema(first: list[Stimulus]) -> StimulusSchema | None:
    """A schema from the first stimuli: numeric ranges widened by 10 %, open categories.

    ``None`` when the stream is text only (the text encoder needs no schema).
    """
    records = [s.features for s in first if s.features is not None]
    if not records:
        return None
    features: dict[str, NumericFeature | CategoricalFeature] = {}
    for name in records[0]:
        values = [r.get(name) for r in records]
        if all(isinstance(v, float) for v in values):
            numbers = np.asarray(values, dtype=np.float64)
            low, high = float(numbers.min()), float(numbers.max())
            margin = max(high - low, 1.0) * 0.1
            features[name] = NumericFeature(low=low - margin, high=high + margin)
        else:
            features[name] = CategoricalFeature()
    return StimulusSchema(features=features)


def _source(
    path: str | None, demo: bool, seed: int, bus_in: BusStimuli | None
) -> tuple[Iterator[Stimulus], str]:
    if bus_in is not None:
        if demo or path is not None:
            raise InputError("--bus-in reads stimuli from the bus: give no SOURCE and no --demo")
        return iter(bus_in), "the bus"
    if demo:
        return demo_stream(demo_dataset(), seed=seed), "demo"
    if path is None or path == "-":
        head = sys.stdin.readline()
        rest = sys.stdin
        if head.startswith("id,") or head.startswith('"id"'):
            return read_csv(chain([head], rest), "<stdin>"), "stdin"
        return read_jsonl(chain([head], rest), "<stdin>"), "stdin"
    return read_path(Path(path)), path


def run(
    source: Annotated[
        str | None,
        typer.Argument(help="A .jsonl or .csv file of stimuli, or - for standard input."),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Stream the built-in wine data instead of SOURCE.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many stimuli (demo default 1,500).")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, help="Pace the stream at this many stimuli per second."),
    ] = None,
    cognition: Annotated[
        bool, typer.Option(help="Ask cognition (GFlowNet) for hypotheses on reflex misses.")
    ] = True,
    live: Annotated[bool, typer.Option(help="Show the live display.")] = True,
    model: Annotated[
        str,
        typer.Option(help="Registered model whose @champion cognition starts from, if any."),
    ] = DEFAULT_MODEL,
    journal: Annotated[
        bool, typer.Option(help="Journal every answer as an episode in episodic memory.")
    ] = True,
    bus: Annotated[
        bool,
        typer.Option(
            help="Publish answers (emily/answers) and hypotheses (emily/hypotheses) on the "
            "Zenoh bus at EMILY_ZENOH_ENDPOINT."
        ),
    ] = False,
    bus_in: Annotated[
        bool,
        typer.Option(
            "--bus-in",
            help="Read stimuli from the bus (emily/stimuli/**, e.g. from `emily publish`) "
            "instead of SOURCE; ends at the publisher's end marker or --limit.",
        ),
    ] = False,
) -> None:
    """Run stimuli through nervous system → instinct → cognition, learning reflexes from labels.

    Each stimulus is gated by the alpha oscillator, answered by the reflex memory in
    microseconds when known, and (on a miss) offered to the GFlowNet, which samples causal
    hypotheses in the background. Stimuli carrying a "label" teach reflexes, which persist in
    EMILY_HOME, so a second run starts knowing what the first one learned. Cognition starts
    from models:/MODEL@champion when one models the same features (see `emily models`), else
    it trains the variant the enable_gflownet_v2 flag selects from scratch.
    """
    settings = load_settings()
    clock = system_clock()
    if demo:
        limit = limit or 1_500
        rate = rate or 250.0
    session = ZenohBus(settings.zenoh_endpoint, "listen") if (bus or bus_in) else None
    try:
        _run(settings, clock, session, source, demo, limit, rate, cognition, live, model,
             journal=journal, publish=bus, bus_in=bus_in)  # fmt: skip
    finally:
        if session is not None:
            session.close()


def _run(
    settings: EmilySettings,
    clock: Clock,
    session: ZenohBus | None,
    source: str | None,
    demo: bool,
    limit: int | None,
    rate: float | None,
    cognition: bool,
    live: bool,
    model: str,
    *,
    journal: bool,
    publish: bool,
    bus_in: bool,
) -> None:
    incoming = BusStimuli(session) if bus_in and session is not None else None
    stream, name = _source(source, demo, settings.seed, incoming)
    stream = islice(stream, limit) if limit else stream
    schema: StimulusSchema | None
    if demo:
        dataset = demo_dataset()
        schema, table, features = demo_schema(dataset), f"{REFLEX_TABLE}_demo", list(DEMO_FEATURES)
        first: list[Stimulus] = []
    else:
        first = list(islice(stream, SCHEMA_SAMPLE))
        if not first:
            raise InputError(f"{name}: no stimuli")
        schema, table = infer_schema(first), REFLEX_TABLE
        numeric = [k for k, v in (first[0].features or {}).items() if isinstance(v, float)]
        features = numeric[:4] if len(numeric) >= 2 else []
    choice = choose_cognition(settings, features, clock, name=model) if cognition else None
    if choice is not None and features:
        used = choice.model.label if choice.model else f"variant {choice.variant} from scratch"
        console.print(f"cognition: {used} ({choice.reason})")
    runtime = build_runtime(
        settings,
        schema,
        table=table,
        cognition_features=features if cognition else None,
        clock=clock,
        cognition_model=choice.model if choice else None,
        cognition_variant=choice.variant if choice else "v1",
        journal=journal,
        bus=session if publish else None,
    )
    start = clock.monotonic()
    processed = 0
    try:
        with (
            Live(render(runtime, 0, 0.0), console=console, refresh_per_second=4, transient=False)
            if live
            else _NoLive() as view
        ):
            for stimulus in chain(first, stream):
                runtime.handle(stimulus)
                processed += 1
                if rate:  # a steady gap, no catch-up bursts (bursts would alias the alpha phase)
                    clock.sleep(1.0 / rate)
                if processed % 50 == 0:
                    view.update(render(runtime, processed, clock.monotonic() - start))
            view.update(render(runtime, processed, clock.monotonic() - start))
        if runtime.journal is not None:
            runtime.journal.flush(timeout_s=FLUSH_TIMEOUT_S)
        if runtime.bus is not None:
            runtime.bus.drain(attempts=20)
    finally:
        runtime.close()
    if not live:
        console.print(render(runtime, processed, clock.monotonic() - start))
    console.print()
    console.print(
        f"[green]done[/green]: {processed:,} stimuli from {name}; "
        f"{len(runtime.reflexes):,} reflexes stored in {settings.home}"
    )
    if runtime.journal is not None:
        status = runtime.journal.status()
        kept = (
            f"; [yellow]{status.pending:,} pending[/yellow] in the journal outbox "
            "(replayed when the store returns, on the next run)"
            if status.pending
            else ""
        )
        console.print(f"journal: {status.written:,} episodes written to episodic memory{kept}")
    if runtime.bus is not None:
        stats = runtime.bus.answers.stats
        console.print(
            f"bus: {stats.sent + stats.flushed:,} answers published, "
            f"{runtime.bus.pending:,} still queued (no subscriber), {stats.dropped:,} dropped"
        )
    if incoming is not None and incoming.rejected:
        console.print(
            f"[yellow]bus[/yellow]: {incoming.rejected:,} malformed messages skipped "
            f"(last: {incoming.last_error})"
        )


class _NoLive:
    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _: object) -> None:
        return None


def publish(
    source: Annotated[
        str, typer.Argument(help="A .jsonl or .csv file of stimuli, or - for standard input.")
    ],
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, help="Pace at this many stimuli per second (default: no pacing)."),
    ] = None,
    wait: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for a runtime to subscribe.")
    ] = 30.0,
) -> None:
    """Publish stimuli on the bus for a runtime started with `emily run --bus-in`.

    Stimuli are validated here first (a bad line stops before anything is sent), sent as JSON
    lines on emily/stimuli/in, and followed by an end marker that ends the runtime's stream.
    """
    settings = load_settings()
    clock = system_clock()
    stream, _ = _source(source, False, settings.seed, None)
    stimuli = list(stream)
    with ZenohBus(settings.zenoh_endpoint, "connect") as session:
        outbox = ResilientPublisher(session, f"{STIMULI_KEY}/in")
        deadline = clock.monotonic() + wait
        while not session.has_subscribers(f"{STIMULI_KEY}/in"):
            if clock.monotonic() > deadline:
                raise InputError(
                    f"no runtime subscribed on {settings.zenoh_endpoint} within {wait:g} s; "
                    "start one with `emily run --bus-in` first"
                )
            clock.sleep(0.05)
        for i in range(0, len(stimuli), PUBLISH_CHUNK):
            chunk = stimuli[i : i + PUBLISH_CHUNK]
            outbox.publish("\n".join(s.model_dump_json() for s in chunk).encode())
            if rate:
                clock.sleep(len(chunk) / rate)
        while outbox.pending and clock.monotonic() <= deadline + wait:
            outbox.poll()
            clock.sleep(0.05)
        session.publish(STIMULI_END_KEY, str(len(stimuli)).encode())
        clock.sleep(0.2)  # let the last messages leave before the session closes
    console.print(f"published {len(stimuli):,} stimuli on {settings.zenoh_endpoint}")


def register_run_commands(app: typer.Typer) -> None:
    """Add ``emily run`` and ``emily publish`` to the CLI."""
    app.command(name="run")(run)
    app.command(name="publish")(publish)
