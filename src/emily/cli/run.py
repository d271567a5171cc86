"""``emily run``: the main job — stream stimuli through the triune loop with a live view."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from emily.cli._option_defaults import DEFAULT_FILE_RATE, LABEL, ModelKind, OnError
from emily.cli._run_view import RunView
from emily.core import Clock, InputError, system_clock
from emily.runtime import DEFAULT_MODEL

if TYPE_CHECKING:  # NumPy, PyArrow, LanceDB, torch, Zenoh: imported where a run needs them
    from emily.cli._run_input import RunInput
    from emily.core.settings import EmilySettings
    from emily.instinct import StimulusSchema
    from emily.runtime import (
        AnswerTally,
        BusStimuli,
        ConformStats,
        ConsoleServer,
        HomeSchema,
        InputPolicy,
        JournalStatus,
        Learning,
        RunTiming,
        Stimulus,
        TriuneRuntime,
        ZenohBus,
    )

console = Console()
FLUSH_TIMEOUT_S = 30.0
FIRST_BATCH_WAIT_S = 30.0
"""How long a watched run (the live view) whose stream ended before cognition's first batch
waits for it: a person who watched a demo should see a hypothesis, not ``waiting…``."""
EXIT_HELD = 3
"""Exit status of a run whose episodes are held in the journal outbox (the graph store was
unreachable): nothing is lost, the next run replays them, but the run did not finish its job."""


def open_source(
    path: str | None, demo: bool, seed: int, bus_in: BusStimuli | None, label: str = LABEL
) -> tuple[Iterator[Stimulus], str]:
    """The stimuli of the bus, the demo, standard input (``-``: CSV unless a line opens with
    ``{``) or a file, with a name for messages; ``label`` names the label column. The first bad
    line stops with its ``source:line`` (``emily publish`` reads this way; ``emily run`` checks
    input itself, see ``emily.cli._run_input``)."""
    from emily.cli._run_input import scan_stdin
    from emily.runtime import demo_dataset, demo_stream, read_path, stimuli_of

    if bus_in is not None:
        if demo or path is not None:
            raise InputError("--bus-in reads stimuli from the bus: give no SOURCE and no --demo")
        return iter(bus_in), "the bus"
    if demo:
        return demo_stream(demo_dataset(), seed=seed), "demo"
    if path is None or path == "-":
        return stimuli_of(scan_stdin(label)), "stdin"
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
    console_page: Annotated[
        bool,
        typer.Option(
            "--console",
            help="Serve the live browser console on a local port while the run lasts and "
            "print its URL (with the access token); in a terminal it stays up after the "
            "summary until Enter or Ctrl+C.",
        ),
    ] = False,
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
    on_error: Annotated[
        OnError,
        typer.Option(
            "--on-error",
            help="A bad line (unreadable, or not the home's schema): stop: a file is checked "
            "whole before anything is stored, and the first bad line exits 2 as FILE:LINE: "
            "reason with nothing stored; skip: bad lines go to the rejects file and the rest "
            "runs. Standard input and the bus are checked stimulus by stimulus (stop ends the "
            "run there, after what came before).",
        ),
    ] = "stop",
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="With --on-error skip: write each bad line here as JSON lines {source, line, "
            "reason} (default EMILY_HOME/rejects/STEM.rejects.jsonl).",
        ),
    ] = None,
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

    Bad input (see --on-error): a file is checked line by line before anything is stored.
    Exit status: 0 done; 2 bad input or options (one line: FILE:LINE: what, and what was
    expected); 3 done, but episodes are held in the journal outbox because the graph store
    was unreachable (nothing is lost: the next run replays them once the store answers).
    """
    console = Console(stderr=as_json)  # with --json, stdout holds only the JSON line
    if demo and source is not None:
        raise InputError(
            f"--demo streams the built-in wine data, so SOURCE {source!r} would be ignored; "
            "expected either --demo or SOURCE"
        )
    if bus_in and (demo or source is not None):
        raise InputError("--bus-in reads stimuli from the bus: give no SOURCE and no --demo")
    if rejects is not None and on_error != "skip":
        raise InputError("--rejects is where --on-error skip writes bad lines; add --on-error skip")
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
        on_error=on_error, rejects=rejects, console_page=console_page,
    )  # fmt: skip
    view = RunView(console, live=options.live, clock=clock)
    with view:  # from here on the terminal says what is loading: no blank start-up screen
        _start(view, clock, console, options)


def _start(view: RunView, clock: Clock, console: Console, options: _Options) -> None:
    """Settings and the bus session of a run, then the run (``_run``).

    Cognition's sampler process is started as soon as the run is known to go ahead, so that
    its imports overlap this process's own (``cognition_worker.prestart``): the first
    hypotheses then come seconds after the first misses instead of after the stream ended.
    Not before: bad settings or a bad file are refused first, in a second, without a process
    importing PyTorch for seconds that the refusal then waits for (``_prestart``).
    """
    from emily.runtime import discard_prestarted

    session = None
    try:
        with view.step("loading settings"):
            from emily.core.settings import load_settings

            settings = load_settings()
        if not _checks_a_file(options):  # a file's check comes first (``_run_checked``)
            _prestart(view, options)
        if options.publish or options.bus_in:
            with view.step(f"opening the Zenoh bus at {settings.zenoh_endpoint}"):
                from emily.runtime import ZenohBus

                session = ZenohBus(settings.zenoh_endpoint, "listen")
        _run(settings, clock, session, options, console, view)
    finally:
        discard_prestarted()  # a run without cognition's features left it
        if session is not None:
            session.close()


def _checks_a_file(options: _Options) -> bool:
    """Whether the run reads a file, checked whole before the run starts (``read_file``)."""
    return options.replay and options.source is not None


def _prestart(view: RunView, options: _Options) -> None:
    """Start cognition's sampler process (it imports in the background) if the run uses it."""
    if options.cognition:
        from emily.runtime import prestart

        with view.step("starting cognition's sampler process (it loads in the background)"):
            prestart()


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
    on_error: OnError
    rejects: Path | None
    console_page: bool = False


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


def _plan(settings: EmilySettings, options: _Options, schema: HomeSchema | None) -> _Plan:
    """The reflex table, threshold and cognition features the stream is answered with: the
    demo's own, else those of the home's ``schema`` and its latest (or chosen) reflex model."""
    from emily.instinct import REFLEX_TABLE, NumericFeature
    from emily.runtime import (
        DEMO_FEATURES,
        UNCALIBRATED_THRESHOLD,
        ReflexModels,
        demo_dataset,
        demo_schema,
        table_for,
    )

    if schema is None:
        dataset = demo_dataset()
        return _Plan(None, demo_schema(dataset), f"{REFLEX_TABLE}_demo", None, True,
                     list(DEMO_FEATURES), "demo reflexes")  # fmt: skip
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


def _input(
    settings: EmilySettings,
    options: _Options,
    incoming: BusStimuli | None,
    policy: InputPolicy,
    stats: ConformStats,
    clock: Clock,
    console: Console,
) -> RunInput | None:
    """The checked stimuli of the file, standard input or the bus (``None`` for the demo)."""
    from emily.cli._run_input import read_file, read_stream

    if options.demo:
        return None
    label = _label_column(settings, options)
    if options.replay and options.source is not None:
        return read_file(settings, Path(options.source), label=label,
                         schema_file=options.schema_file, limit=options.limit, policy=policy,
                         stats=stats, clock=clock, console=console)  # fmt: skip
    return read_stream(settings, incoming, label=label, schema_file=options.schema_file,
                       limit=options.limit, policy=policy, stats=stats, clock=clock,
                       console=console)  # fmt: skip


def _policy(settings: EmilySettings, options: _Options) -> InputPolicy:
    from emily.runtime import InputPolicy, default_rejects_path

    if options.on_error == "stop":
        return InputPolicy("stop")
    name = "<bus>" if options.bus_in else options.source or "<stdin>"
    name = "<stdin>" if name == "-" else name
    return InputPolicy("skip", options.rejects or default_rejects_path(settings.home, name))


def _run(
    settings: EmilySettings,
    clock: Clock,
    session: ZenohBus | None,
    options: _Options,
    console: Console,
    view: RunView,
) -> None:
    from emily.runtime import BusStimuli

    incoming = BusStimuli(session) if options.bus_in and session is not None else None
    policy = _policy(settings, options)
    try:
        _run_checked(settings, clock, session, options, console, incoming, policy, view)
    finally:
        policy.close()


def _run_checked(
    settings: EmilySettings,
    clock: Clock,
    session: ZenohBus | None,
    options: _Options,
    console: Console,
    incoming: BusStimuli | None,
    policy: InputPolicy,
    view: RunView,
) -> None:
    with view.step(_reading(options)):
        from emily.runtime import ConformStats

        stats = ConformStats()
        given = _input(settings, options, incoming, policy, stats, clock, console)
    if _checks_a_file(options):  # the file passed: now the run goes ahead
        _prestart(view, options)
    with view.step("loading the engines (NumPy, PyTorch, LanceDB)"):
        from emily.runtime import (
            AnswerTally,
            AnswerWriter,
            StreamTimeline,
            attach_rollouts,
            build_runtime,
            choose_cognition,
            demo_dataset,
            demo_stream,
        )

        plan = _plan(settings, options, given.schema if given else None)
    console.print(f"reflexes: {plan.note}")
    stimuli: Iterator[Stimulus]
    if given is None:
        stimuli = demo_stream(demo_dataset(), seed=settings.seed, limit=options.limit)
        name, view.total = "demo", options.limit
    else:
        stimuli, name, view.total = given.stimuli, given.name, given.total
    choice = None
    if options.cognition:
        with view.step("choosing cognition's model (registry)"):
            choice = choose_cognition(settings, plan.features, clock, name=options.model)
    if choice is not None and plan.features:
        from emily.runtime import NO_MODEL_SAMPLER

        used = choice.model.label if choice.model else NO_MODEL_SAMPLER
        view.cognition_from = used
        console.print(f"cognition: {used} ({choice.reason})")
    timeline = StreamTimeline(options.rate) if options.replay else None
    learning: Learning = (
        "off"
        if not (plan.teaches and options.learn)
        else "barrier"
        if options.replay
        else "background"
    )
    with view.step(_opening(options, bool(plan.features))):
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
    close_rollouts = attach_rollouts(  # `emily models canary|shadow|ab|bluegreen start …`
        runtime,
        settings,
        plan.features if options.cognition else None,
        choice.model if choice else None,
        clock,
        name=options.model,
    )
    server: ConsoleServer | None = None
    tally = AnswerTally()
    writer = AnswerWriter(options.out_file) if options.out_file else None
    closed = False
    try:
        if options.console_page:
            with view.step("starting the browser console"):
                server = _console(runtime, settings, clock)
            view.console_url = server.url
            console.print(f"console: [link={server.url}]{server.url}[/link]", soft_wrap=True)
        start = clock.monotonic()
        first = _FirstBatch()
        chunk = max(1, int(options.rate / 10)) if options.pace else REPLAY_CHUNK
        for batch in _batches(stimuli, chunk if timeline else 1):
            if timeline is None and tally.n == 0:  # a live stream's onset resets the phase
                runtime.attention.reset_phase()
            answers = (runtime.handle_many(batch, timeline.place_all(batch))
                       if timeline else [runtime.handle(batch[0])])  # fmt: skip
            tally.add(answers, runtime.attention.frequency if timeline else None)
            view.offered = tally.counts["cognition_offered"]
            first.check(runtime, tally.n, clock.monotonic() - start)
            if writer is not None:
                writer.write(answers)
            if options.pace:  # a steady gap, no catch-up bursts
                clock.sleep(len(batch) / options.rate)
            if tally.n % 50 < len(batch):
                view.frame(runtime, tally.n, clock.monotonic() - start)
        stream_s = clock.monotonic() - start
        _finish(runtime, view, tally, stream_s)
        closed = True
        first.check(runtime, tally.n, stream_s)
        view.frame(runtime, tally.n, stream_s, stage="done")
    finally:
        view.stop()
        if writer is not None:
            writer.close()
        if not closed:
            runtime.close()
        close_rollouts()
        if server is not None and closed:
            _hold(console, server, options)
        if server is not None:
            server.close()
    from emily.runtime import RunTiming

    timing = RunTiming(tally.n, stream_s, clock.monotonic() - start, start - view.started)
    if not options.live and not options.as_json:
        from emily.runtime import render

        console.print(render(runtime, tally.n, stream_s))
    _report(console, runtime, tally, stats, settings, name, options, incoming, policy, timing,
            first)  # fmt: skip
    if runtime.journal is not None and runtime.journal.pending:
        raise typer.Exit(EXIT_HELD)


def _reading(options: _Options) -> str:
    """The start-up step that reads the input, as the loading view names it."""
    if options.demo:
        return "preparing the demo stream (wine measurements)"
    if options.bus_in:
        return "waiting for the first stimuli on the bus"
    if options.replay and options.source is not None:
        return f"checking {options.source} line by line (nothing is stored before it passes)"
    return "waiting for the first stimuli on standard input"


def _opening(options: _Options, cognition: bool) -> str:
    """The start-up step that builds the runtime, naming what it starts."""
    parts = ["reflex memory (LanceDB)"]
    if options.journal:
        parts.append("the journal's graph writer")
    if options.cognition and cognition:
        parts.append("cognition's sampler process")
    return "opening " + ", ".join(parts)


def _console(runtime: TriuneRuntime, settings: EmilySettings, clock: Clock) -> ConsoleServer:
    """The live browser console on a free local port (``emily.runtime.console``)."""
    from emily.runtime import start_console

    return start_console(runtime, settings, clock=clock, host="127.0.0.1", port=0)


def _hold(console: Console, server: ConsoleServer, options: _Options) -> None:
    """Keep the console up after the run in a terminal, so a person can still look at it."""
    if options.as_json or not sys.stdin.isatty():
        return
    console.print(f"console: still at {server.url}; press Enter or Ctrl+C to end")
    with contextlib.suppress(EOFError, KeyboardInterrupt):
        input()


class _FirstBatch:
    """When cognition's first hypotheses arrived: after how many stimuli and seconds of stream.

    Why record it: "the demo shows a hypothesis within seconds" is a claim about the order of
    events in a run (the first batch lands while stimuli still stream), which ``--json`` reports
    and a test can check without timing anything itself.
    """

    def __init__(self) -> None:
        self.stimuli: int | None = None
        self.seconds: float | None = None

    def check(self, runtime: TriuneRuntime, processed: int, elapsed_s: float) -> None:
        if self.stimuli is None and runtime.tiers.get("cognition", 0) > 0:
            self.stimuli, self.seconds = processed, elapsed_s

    def as_dict(self, startup_s: float) -> dict[str, float | int] | None:
        """After how many stimuli, seconds of stream, and seconds since the command began."""
        if self.stimuli is None or self.seconds is None:
            return None
        # Unrounded, as the summary's own stream_s: a batch that lands as the stream ends would
        # otherwise round past it (15.631 against 15.630946 in a loaded run).
        return {
            "stimuli": self.stimuli,
            "stream_s": self.seconds,
            "since_start_s": startup_s + self.seconds,
        }


def _finish(runtime: TriuneRuntime, view: RunView, tally: AnswerTally, stream_s: float) -> None:
    """After the last stimulus: wait (watched runs only, bounded) for cognition's first batch,
    flush the journal, drain the bus and close the runtime, the view saying which is going on."""
    processed = tally.n
    cognition = runtime.cognition
    if view.live and cognition is not None and tally.counts["cognition_offered"]:
        view.until(
            lambda: runtime.tiers.get("cognition", 0) > 0 or cognition.failures > 0,
            FIRST_BATCH_WAIT_S, runtime, processed, stream_s,
            "finishing: waiting for cognition's first hypotheses",
        )  # fmt: skip
    journal = runtime.journal
    if journal is not None:
        view.wait(
            lambda: journal.flush(timeout_s=FLUSH_TIMEOUT_S, until_durable=True),
            runtime, processed, stream_s,
            f"finishing: writing {journal.pending:,} episodes to episodic memory",
        )  # fmt: skip
    bus = runtime.bus
    if bus is not None:
        view.wait(lambda: bus.drain(attempts=20), runtime, processed, stream_s,
                  "finishing: draining the bus")  # fmt: skip
    view.wait(runtime.close, runtime, processed, stream_s,
              "finishing: the last cognition batch, closing the stores")  # fmt: skip


def _label_column(settings: EmilySettings, options: _Options) -> str:
    """``--label``, else the label column of the schema the stream will be read with."""
    from emily.cli._home_data import load_schema_file
    from emily.runtime import SchemaStore

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
    policy: InputPolicy,
    timing: RunTiming,
    first: _FirstBatch,
) -> None:
    console.print()
    console.print(
        f"[green]done[/green]: {tally.n:,} stimuli from {name} {timing.describe()}; "
        f"{len(runtime.reflexes):,} reflexes stored in {settings.home}"
    )
    console.print(tally.describe(runtime, gate=options.gate))
    if stats.records:
        console.print(f"conform: {stats.summary()}")
    if policy.skipped:
        console.print(
            f"[yellow]skipped[/yellow] {policy.skipped:,} bad "
            f"{'line' if policy.skipped == 1 else 'lines'} (line and reason of each in "
            f"{policy.rejects})"
        )
    cognition = _cognition_summary(runtime)
    if runtime.cognition is not None:
        best = "; ".join(
            f"{h['description']} ({h['share']:.0%})" for h in cognition["hypotheses"][:3]
        )
        failed = runtime.cognition.failures
        when = (
            f", the first after {first.stimuli:,} stimuli ({first.seconds:.1f} s of stream, "
            f"{timing.startup_s + first.seconds:.1f} s after the start)"
            if first.stimuli is not None and first.seconds is not None
            else ""
        )
        console.print(
            f"cognition: {cognition['batches']} hypothesis "
            f"{'batch' if cognition['batches'] == 1 else 'batches'} for the "
            f"{tally.counts['cognition_offered']:,} stimuli offered (misses and unsure hits)"
            + when
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
        console.print(f"journal: {status.written:,} episodes written to episodic memory")
        if status.pending:
            console.print(_held(status, settings))
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
            "cognition": {**cognition, "first_batch": first.as_dict(timing.startup_s)},
            "conform": stats.as_dict(),
            "skipped": policy.skipped,
            "rejects": str(policy.rejects) if policy.skipped else None,
            "journal": (
                {"written": runtime.journal.written, "held": runtime.journal.pending}
                if runtime.journal is not None
                else None
            ),
            "startup_s": timing.startup_s,
            "elapsed_s": timing.total_s,
            "stream_s": timing.stream_s,
            "per_second": timing.per_second,
        }
        typer.echo(json.dumps(summary))


def _held(status: JournalStatus, settings: EmilySettings) -> str:
    """Why episodes are in the outbox and what happens to them (the run then exits 3)."""
    why = (
        f"the graph store is unreachable ({status.last_error})"
        if not status.up
        else "the graph store did not take them in time"
    )
    where = settings.falkordb_url or f"the embedded FalkorDB under {settings.path('falkordb')}"
    return (
        f"[yellow]journal: {status.pending:,} episodes held in the outbox[/yellow] "
        f"({settings.path('journal', 'outbox.sqlite3')}): {why}. Nothing is lost: the next "
        f"`emily run` replays them once {where} answers (check EMILY_FALKORDB_URL; runbook "
        "graph-store-down). Exit status 3"
    )


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
