"""``emily run``: the main job — stream stimuli through the triune loop with a live view."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.live import Live

from emily.cli._home_data import (
    DEFAULT_SCHEMA_NAME,
    load_schema_file,
    resolve_schema,
    warn_if_label_is_a_feature,
)
from emily.core import Clock, InputError, system_clock
from emily.core.settings import EmilySettings, load_settings
from emily.instinct import REFLEX_TABLE, NumericFeature, StimulusSchema
from emily.runtime.answers import AnswerTally, AnswerWriter
from emily.runtime.builder import (
    DEMO_FEATURES,
    UNCALIBRATED_THRESHOLD,
    build_runtime,
    demo_schema,
)
from emily.runtime.bus import BusStimuli, ZenohBus
from emily.runtime.champion import DEFAULT_MODEL, choose_cognition
from emily.runtime.display import render
from emily.runtime.loop import Learning, TriuneRuntime
from emily.runtime.reflex_models import ModelKind, ReflexModels, table_for
from emily.runtime.schema_store import (
    ConformStats,
    HomeSchema,
    SchemaStore,
    conform,
    infer_home_schema,
)
from emily.runtime.stimuli import (
    LABEL,
    Stimulus,
    demo_dataset,
    demo_stream,
    read_csv,
    read_jsonl,
    read_path,
)
from emily.runtime.timeline import DEFAULT_FILE_RATE, StreamTimeline

console = Console()
SCHEMA_SAMPLE = 256
FLUSH_TIMEOUT_S = 30.0


def open_source(
    path: str | None, demo: bool, seed: int, bus_in: BusStimuli | None, label: str = LABEL
) -> tuple[Iterator[Stimulus], str]:
    """The stimuli of the bus, the demo, standard input (``-``: CSV unless a line opens with
    ``{``) or a file, with a name for messages; ``label`` names the label column."""
    if bus_in is not None:
        if demo or path is not None:
            raise InputError("--bus-in reads stimuli from the bus: give no SOURCE and no --demo")
        return iter(bus_in), "the bus"
    if demo:
        return demo_stream(demo_dataset(), seed=seed), "demo"
    if path is None or path == "-":
        head = sys.stdin.readline()
        rest = sys.stdin
        if not head.lstrip().startswith("{"):  # JSON lines open with an object; else CSV
            return read_csv(chain([head], rest), "<stdin>", label=label), "stdin"
        return read_jsonl(chain([head], rest), "<stdin>", label=label), "stdin"
    return read_path(Path(path), label=label), path


GateMode = Literal["model", "off"]
REPLAY_CHUNK = 256
"""Stimuli answered per batch in a replay; their lessons are written before the next batch."""


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
        typer.Option(
            min=0.1,
            help="Stream time of a file or the demo: stimuli per second for stimuli without a "
            f"timestamp (default {DEFAULT_FILE_RATE:g}/s for files, 250/s for the demo).",
        ),
    ] = None,
    pace: Annotated[
        bool | None,
        typer.Option(
            help="Wait in real time between stimuli at --rate (default: on for the demo, so "
            "the live view can be watched; off for files, which run as fast as they can)."
        ),
    ] = None,
    gate: Annotated[
        GateMode,
        typer.Option(
            help="model: the alpha gate suppresses what arrives near the inhibitory peak of "
            "each cycle (read on stream time for files); off: every stimulus is answered."
        ),
    ] = "model",
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write one JSON answer per stimulus (input order) here."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON summary as the last line.")
    ] = False,
    label: Annotated[
        str | None,
        typer.Option("--label", help="Column or key holding the label (default: the schema's)."),
    ] = None,
    schema_file: Annotated[
        Path | None,
        typer.Option("--schema", help="A schema JSON (`emily schema show --json`) to use."),
    ] = None,
    reflexes: Annotated[
        ModelKind | None,
        typer.Option(
            "--reflexes", help="Which learned reflex model answers (default: the latest)."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.5, max=1.0, help="Override the hit threshold `emily learn` calibrated."),
    ] = None,
    learn: Annotated[
        bool,
        typer.Option(
            help="Teach reflexes from labelled stimuli the memory missed or got wrong (off: "
            "the home is only read, so a replay repeats exactly)."
        ),
    ] = True,
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
    microseconds when known, and (on a miss: a novel stimulus) offered to the GFlowNet, which
    samples causal hypotheses in the background. Stimuli carrying a label teach reflexes, which
    persist in EMILY_HOME, so a second run starts knowing what the first one learned.

    A file (or the demo) is replayed on its own time line: a stimulus's "timestamp", else
    --rate stimuli per second. The same file gives the same answers on every run and machine
    (only latencies differ). Standard input and the bus are live: their time is the clock's.
    Files are read with the home's schema (the first file fixes it; `emily schema show`).
    Cognition starts from models:/MODEL@champion when one models the same features (see
    `emily models`), else it trains the variant the enable_gflownet_v2 flag selects.
    """
    console = Console(stderr=as_json)  # with --json, stdout holds only the JSON line
    settings = load_settings()
    clock = system_clock()
    if demo:
        limit = limit or 1_500
        rate = rate or 250.0
    replay = demo or (source is not None and source != "-" and not bus_in)
    options = _Options(
        source=source, demo=demo, limit=limit, replay=replay,
        rate=rate or DEFAULT_FILE_RATE, pace=demo if pace is None else pace,
        gate=gate, out_file=out_file, as_json=as_json, label=label, schema_file=schema_file,
        reflexes=reflexes, threshold=threshold, learn=learn, cognition=cognition,
        live=live and not as_json, model=model, journal=journal, publish=bus, bus_in=bus_in,
    )  # fmt: skip
    session = ZenohBus(settings.zenoh_endpoint, "listen") if (bus or bus_in) else None
    try:
        _run(settings, clock, session, options, console)
    finally:
        if session is not None:
            session.close()


@dataclass(frozen=True)
class _Options:
    source: str | None
    demo: bool
    limit: int | None
    replay: bool
    rate: float
    pace: bool
    gate: GateMode
    out_file: Path | None
    as_json: bool
    label: str | None
    schema_file: Path | None
    reflexes: ModelKind | None
    threshold: float | None
    learn: bool
    cognition: bool
    live: bool
    model: str
    journal: bool
    publish: bool
    bus_in: bool


@dataclass(frozen=True)
class _Plan:
    """What the stream is read with: schema, reflex table, threshold, cognition features."""

    schema: HomeSchema | None
    encoder_schema: StimulusSchema | None
    table: str
    threshold: float | None
    teaches: bool
    features: list[str]
    note: str


def _plan(
    settings: EmilySettings,
    options: _Options,
    first: list[Stimulus],
    clock: Clock,
    console: Console,
) -> _Plan:
    if options.demo:
        dataset = demo_dataset()
        return _Plan(None, demo_schema(dataset), f"{REFLEX_TABLE}_demo", None, True,
                     list(DEMO_FEATURES), "demo reflexes")  # fmt: skip
    path = Path(options.source) if options.replay and options.source else None
    store = SchemaStore(settings.home)
    if path is None and options.schema_file is None and store.current() is None:
        schema = store.save(
            infer_home_schema(first, name=DEFAULT_SCHEMA_NAME, source="<stream>",
                              label_column=options.label or LABEL, clock=clock)
        )  # fmt: skip
        console.print(f"schema: inferred {schema.name} v{schema.version} from the first "
                      f"{len(first):,} stimuli and stored it (`emily schema show`)")  # fmt: skip
        warn_if_label_is_a_feature(schema, console)
    else:
        schema = resolve_schema(
            settings,
            path,
            label=options.label,
            schema_file=options.schema_file,
            clock=clock,
            console=console,
        )
    card = ReflexModels(settings.home).active(schema, options.reflexes)
    numeric = [k for k, v in (schema.features.features if schema.features else {}).items()
               if isinstance(v, NumericFeature)]  # fmt: skip
    features = numeric[:4] if len(numeric) >= 2 else []
    if card is None:
        note = (
            f"exemplar reflexes of {schema.name} v{schema.version}, hit threshold "
            f"{UNCALIBRATED_THRESHOLD} (uncalibrated: `emily learn FILE` calibrates it)"
        )
        return _Plan(schema, schema.features, table_for(schema, "exemplar"), None, True,
                     features, note)  # fmt: skip
    teaches = card.kind == "exemplar"
    note = (f"{card.kind} reflexes of {schema.name} v{schema.version}, "
            f"calibrated hit threshold {card.threshold:.4f}"
            + ("" if teaches else "; labels do not teach here (`emily learn --model prototype` "
               "retrains prototypes)"))  # fmt: skip
    return _Plan(schema, schema.features, card.table, card.threshold, teaches, features, note)


def _run(
    settings: EmilySettings,
    clock: Clock,
    session: ZenohBus | None,
    options: _Options,
    console: Console,
) -> None:
    incoming = BusStimuli(session) if options.bus_in and session is not None else None
    stream, name = open_source(
        options.source, options.demo, settings.seed, incoming, _label_column(settings, options)
    )
    stream = islice(stream, options.limit) if options.limit else stream
    first = [] if options.demo else list(islice(stream, SCHEMA_SAMPLE))
    if not options.demo and not first:
        raise InputError(f"{name}: no stimuli")
    plan = _plan(settings, options, first, clock, console)
    console.print(f"reflexes: {plan.note}")
    stats = ConformStats()
    stimuli: Iterator[Stimulus] = chain(first, stream)
    if plan.schema is not None:
        schema = plan.schema
        stimuli = (stats.add(conform(s, schema, where=f"{name} stimulus {i}")).stimulus
                   for i, s in enumerate(stimuli, 1))  # fmt: skip
    choice = (
        choose_cognition(settings, plan.features, clock, name=options.model)
        if options.cognition
        else None
    )
    if choice is not None and plan.features:
        from emily.runtime.structure import NO_MODEL_SAMPLER

        used = choice.model.label if choice.model else NO_MODEL_SAMPLER
        console.print(f"cognition: {used} ({choice.reason})")
    timeline = StreamTimeline(options.rate) if options.replay else None
    learning: Learning = (
        "off"
        if not (plan.teaches and options.learn)
        else "barrier"
        if options.replay
        else "background"
    )
    runtime = build_runtime(
        settings,
        plan.encoder_schema,
        table=plan.table,
        cognition_features=plan.features if options.cognition else None,
        clock=clock,
        cognition_model=choice.model if choice else None,
        cognition_variant=choice.variant if choice else "v1",
        journal=options.journal,
        bus=session if options.publish else None,
        stream_clock=timeline.clock if timeline else None,
        gate=options.gate == "model",
        learning=learning,
        threshold=options.threshold if options.threshold is not None else plan.threshold,
    )
    tally = AnswerTally()
    start = clock.monotonic()
    writer = AnswerWriter(options.out_file) if options.out_file else None
    try:
        with (
            Live(render(runtime, 0, 0.0), console=console, refresh_per_second=4, transient=False)
            if options.live
            else _NoLive() as view
        ):
            chunk = max(1, int(options.rate / 10)) if options.pace else REPLAY_CHUNK
            for batch in _batches(stimuli, chunk if timeline else 1):
                if timeline is None and tally.n == 0:  # a live stream's onset resets the phase
                    runtime.attention.reset_phase()
                answers = (runtime.handle_many(batch, timeline.place_all(batch))
                           if timeline else [runtime.handle(batch[0])])  # fmt: skip
                tally.add(answers, runtime.attention.frequency if timeline else None)
                if writer is not None:
                    writer.write(answers)
                if options.pace:  # a steady gap, no catch-up bursts
                    clock.sleep(len(batch) / options.rate)
                if tally.n % 50 < len(batch):
                    view.update(render(runtime, tally.n, clock.monotonic() - start))
            view.update(render(runtime, tally.n, clock.monotonic() - start))
        if runtime.journal is not None:
            runtime.journal.flush(timeout_s=FLUSH_TIMEOUT_S)
        if runtime.bus is not None:
            runtime.bus.drain(attempts=20)
    finally:
        if writer is not None:
            writer.close()
        runtime.close()
    elapsed = clock.monotonic() - start
    if not options.live and not options.as_json:
        console.print(render(runtime, tally.n, elapsed))
    _report(console, runtime, tally, stats, settings, name, options, incoming, elapsed)


def _label_column(settings: EmilySettings, options: _Options) -> str:
    """``--label``, else the label column of the schema the stream will be read with."""
    if options.label is not None:
        return options.label
    if options.schema_file is not None and options.schema_file.is_file():
        return load_schema_file(options.schema_file).label_column
    current = SchemaStore(settings.home).current()
    return current.label_column if current is not None else LABEL


def _cognition_summary(runtime: TriuneRuntime) -> dict[str, Any]:
    """How many hypothesis batches cognition returned, and the latest batch's hypotheses."""
    tiers, _, latest = runtime.snapshot()
    return {
        "batches": tiers.get("cognition", 0),
        "hypotheses": [
            {"description": h.description, "share": h.share, "log_reward": h.log_reward}
            for h in (latest.hypotheses if latest else ())
        ],
        "mode_collapse": latest.mode_collapse if latest else None,
    }


def _batches(stimuli: Iterator[Stimulus], size: int) -> Iterator[list[Stimulus]]:
    while batch := list(islice(stimuli, size)):
        yield batch


def _report(
    console: Console,
    runtime: TriuneRuntime,
    tally: AnswerTally,
    stats: ConformStats,
    settings: EmilySettings,
    name: str,
    options: _Options,
    incoming: BusStimuli | None,
    elapsed: float,
) -> None:
    console.print()
    console.print(
        f"[green]done[/green]: {tally.n:,} stimuli from {name} in {elapsed:.2f} s; "
        f"{len(runtime.reflexes):,} reflexes stored in {settings.home}"
    )
    console.print(tally.describe(runtime, gate=options.gate))
    if stats.records:
        console.print(f"conform: {stats.summary()}")
    cognition = _cognition_summary(runtime)
    if runtime.cognition is not None:
        best = "; ".join(
            f"{h['description']} ({h['share']:.0%})" for h in cognition["hypotheses"][:3]
        )
        failed = runtime.cognition.failures
        console.print(
            f"cognition: {cognition['batches']} hypothesis "
            f"{'batch' if cognition['batches'] == 1 else 'batches'} for the "
            f"{tally.counts['cognition_offered']:,} stimuli offered (misses and unsure hits)"
            + (f"; latest: {best}" if best else "")
            + (
                f"; [yellow]{failed} failed[/yellow] ({runtime.cognition.last_error})"
                if failed
                else ""
            )
        )
    teacher = runtime.teacher
    if teacher.failures:
        console.print(
            f"[yellow]teacher[/yellow]: {teacher.failures:,} failed reflex writes "
            f"(last: {teacher.last_error}); {teacher.lost + teacher.refused:,} lessons not learned"
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
        bus_stats = runtime.bus.answers.stats
        console.print(
            f"bus: {bus_stats.sent + bus_stats.flushed:,} answers published, "
            f"{runtime.bus.pending:,} still queued (no subscriber), {bus_stats.dropped:,} dropped"
        )
    if incoming is not None and incoming.rejected:
        console.print(
            f"[yellow]bus[/yellow]: {incoming.rejected:,} malformed messages skipped "
            f"(last: {incoming.last_error})"
        )
    if options.out_file is not None:
        console.print(f"answers: {options.out_file} ({tally.n:,} lines, input order)")
    if options.as_json:
        summary = {
            "source": name,
            **tally.as_dict(),
            "reflexes": len(runtime.reflexes),
            "teacher_failures": teacher.failures,
            "cognition": cognition,
            "conform": stats.as_dict(),
            "elapsed_s": elapsed,
        }
        typer.echo(json.dumps(summary))


class _NoLive:
    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _: object) -> None:
        return None


def register_run_commands(app: typer.Typer) -> None:
    """Add ``emily run`` and ``emily publish`` to the CLI."""
    from emily.cli.publish import publish

    app.command(name="run")(run)
    app.command(name="publish")(publish)
