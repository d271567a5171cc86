"""The live view of ``emily run``: progress, throughput, the oscillator, hypotheses, the journal.

Why a snapshot and pure renderers: the view is read from a running runtime (locks, threads,
a sampler process), but what it *draws* must be testable without starting any of that.
:func:`snapshot_of` is the one place that reads the runtime; every ``*_text``/``render_*``
function below is a pure function of a :class:`RunSnapshot` (or of plain numbers), so unit tests
pin the drawing, and a person sees the same frame for the same state.

People would rather look than read here (issue #18): throughput and hit rate are sparklines,
the alpha oscillator is a strip of its gain over one cycle with the current phase marked, a
hypothesis is its edges as compact glyphs with a bar for its sampled mass, and the journal says
"catching up" while its graph writer starts, rather than "0 written" that looks like a failure.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Group
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the loading view is drawn before NumPy, torch and the stores are imported
    from emily.runtime.cognition_worker import HypothesisBatch
    from emily.runtime.journal import JournalStatus
    from emily.runtime.loop import TriuneRuntime

SPARK = "▁▂▃▄▅▆▇█"
"""Eight levels of a sparkline cell, low to high."""
HISTORY = 32
"""Samples a sparkline shows (one per refresh of the view)."""
STRIP_WIDTH = 24
"""Cells of the oscillator strip: one alpha cycle, peak (inhibition) at the left edge."""
BAR_WIDTH = 24
SHOWN_HYPOTHESES = 3
MASS_WIDTH = 20
"""Cells of a hypothesis's mass bar (1.0 fills it): a 5 % hypothesis still shows a cell."""
ABBREVIATION = 4
"""Letters a feature keeps in an edge glyph (``color_intensity`` → ``colo``)."""


@dataclass(frozen=True)
class JournalView:
    """The journal's counters, plus how long the run has waited for its first write."""

    status: JournalStatus
    elapsed_s: float


@dataclass(frozen=True)
class RunSnapshot:
    """Everything one frame draws, read once from the runtime (see :func:`snapshot_of`)."""

    processed: int
    elapsed_s: float
    total: int | None = None
    tiers: dict[str, int] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    reflexes: int = 0
    frequency_hz: float = 8.0
    phase_rad: float = 0.0
    power: float = 1.0
    suppress_below: float = 0.0
    state: str = "resting"
    journal: JournalView | None = None
    bus: tuple[int, int, bool] | None = None
    """Answers sent, answers queued, degraded."""
    cognition: bool = False
    cognition_from: str | None = None
    batch: HypothesisBatch | None = None
    cognition_failures: int = 0
    offered: int = 0
    """Stimuli offered to cognition so far (misses and unsure hits)."""
    throughput: tuple[float, ...] = ()
    hit_rate: tuple[float, ...] = ()
    stage: str = "streaming"
    """``streaming``, or what the run is doing after the last stimulus (``finishing: …``)."""
    console_url: str | None = None


class History:
    """Throughput and hit rate per refresh interval, for the sparklines (bounded)."""

    def __init__(self, size: int = HISTORY) -> None:
        self.throughput: deque[float] = deque(maxlen=size)
        self.hit_rate: deque[float] = deque(maxlen=size)
        self._last: tuple[float, int, int, int] | None = None

    def add(self, elapsed_s: float, processed: int, hits: int, answered: int) -> None:
        """Record the counters at ``elapsed_s``; the rates are those since the previous call."""
        if self._last is not None:
            t0, n0, h0, a0 = self._last
            if elapsed_s <= t0:  # two refreshes in one clock tick: nothing new to measure
                return
            self.throughput.append((processed - n0) / (elapsed_s - t0))
            if answered > a0:
                self.hit_rate.append((hits - h0) / (answered - a0))
        self._last = (elapsed_s, processed, hits, answered)


def snapshot_of(
    runtime: TriuneRuntime,
    processed: int,
    elapsed_s: float,
    *,
    total: int | None = None,
    history: History | None = None,
    record: bool = True,
    offered: int = 0,
    stage: str = "streaming",
    console_url: str | None = None,
    cognition_from: str | None = None,
) -> RunSnapshot:
    """Read the runtime once (its locks, each briefly) into a frame's worth of numbers.

    ``history`` feeds the sparklines; ``record`` adds this reading to it (off once the stream
    ended: the finish is not throughput). ``offered`` is how many stimuli went to cognition.
    """
    import numpy as np

    tiers, latencies, batch = runtime.snapshot()
    if history is not None and record:
        answered = tiers.get("instinct", 0) + tiers.get("none", 0)
        history.add(elapsed_s, processed, tiers.get("instinct", 0), answered)
    p50 = p99 = None
    if latencies:
        p50, p99 = (float(v) * 1e3 for v in np.percentile(latencies, [50, 99]))
    alpha = runtime.attention.diagnostics()
    journal = (
        JournalView(runtime.journal.status(), elapsed_s) if runtime.journal is not None else None
    )
    bus = runtime.bus
    cognition = runtime.cognition
    return RunSnapshot(
        processed=processed,
        elapsed_s=elapsed_s,
        total=total,
        tiers=tiers,
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        reflexes=len(runtime.reflexes),
        frequency_hz=alpha.frequency_hz,
        phase_rad=alpha.phase_rad,
        power=alpha.effective_power,
        suppress_below=runtime.regulator.config.suppress_below,
        state=str(runtime.regulator.state),
        journal=journal,
        bus=(
            (bus.answers.stats.sent + bus.answers.stats.flushed, bus.pending, bus.degraded)
            if bus is not None
            else None
        ),
        cognition=cognition is not None,
        cognition_from=cognition_from,
        batch=batch,
        cognition_failures=cognition.failures if cognition is not None else 0,
        offered=offered,
        throughput=tuple(history.throughput) if history is not None else (),
        hit_rate=tuple(history.hit_rate) if history is not None else (),
        stage=stage,
        console_url=console_url,
    )


# ---------------------------------------------------------------- pure pieces


def sparkline(
    values: Sequence[float], *, low: float | None = None, high: float | None = None
) -> str:
    """One cell per value, its height the value's place between ``low`` and ``high`` (default:
    the values' own range; a flat series sits on the floor)."""
    if not values:
        return ""
    lo = min(values) if low is None else low
    hi = max(values) if high is None else high
    span = hi - lo
    top = len(SPARK) - 1
    cells = []
    for v in values:
        level = 0 if span <= 0 else round((min(max(v, lo), hi) - lo) / span * top)
        cells.append(SPARK[level])
    return "".join(cells)


def eta_s(done: int, total: int | None, elapsed_s: float) -> float | None:
    """Seconds left at the rate so far; ``None`` when the length is unknown or nothing is done."""
    if total is None or done <= 0 or elapsed_s <= 0:
        return None
    return max(total - done, 0) * elapsed_s / done


def duration_text(seconds: float) -> str:
    """``7 s``, ``2 min 05 s``, ``1 h 02 min``: rounded for a person, never ``0.000``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(done: int, total: int | None, elapsed_s: float, width: int = BAR_WIDTH) -> Text:
    """A bar with percentage and ETA when the input's length is known, else a plain count."""
    if total is None or total <= 0:
        return Text(f"{done:,} stimuli (a stream: no end known)")
    share = min(done / total, 1.0)
    filled = round(share * width)
    bar = Text("━" * filled, style="green")
    bar.append("━" * (width - filled), style="grey35")
    left = eta_s(done, total, elapsed_s)
    eta = "done" if done >= total else f"ETA {duration_text(left)}" if left is not None else "ETA …"
    bar.append(f" {share:4.0%}  {done:,}/{total:,}  {eta}")
    return bar


def gain_at(phase_rad: float, power: float) -> float:
    """The alpha gate's gain at a phase: ``clip(1 - P (1 + cos φ) / 2, 0, 1)`` (the model of
    ``emily.nervous_system``; the strip redraws it from the diagnostics' phase and power)."""
    return min(max(1.0 - power * (1.0 + math.cos(phase_rad)) / 2.0, 0.0), 1.0)


def oscillator_strip(
    phase_rad: float, power: float, suppress_below: float = 0.0, width: int = STRIP_WIDTH
) -> Text:
    """One alpha cycle as a strip of gain: tall cells pass stimuli, red cells (gain below the
    regulator's suppression threshold) are the closed window at the inhibitory peak; the cell
    of the current phase is drawn reversed."""
    strip = Text()
    now = int((phase_rad % math.tau) / math.tau * width) % width
    for i in range(width):
        g = gain_at((i + 0.5) / width * math.tau, power)
        closed = g <= suppress_below
        style = "red" if closed else "green"
        if i == now:
            style += " reverse"
        strip.append(SPARK[round(g * (len(SPARK) - 1))], style=style)
    return strip


def parse_edges(description: str) -> list[tuple[str, str]]:
    """``a→b, c→d`` (cognition's description of a DAG) as edges; ``(independent)`` has none."""
    edges = []
    for part in description.split(","):
        source, arrow, target = part.strip().partition("→")
        if arrow:
            edges.append((source.strip(), target.strip()))
    return edges


def abbreviate(name: str, letters: int = ABBREVIATION) -> str:
    """A feature's short name for a glyph: the initials of a multi-word name, else its head."""
    words = [w for w in name.replace("-", "_").split("_") if w]
    if len(words) > 1:
        return "".join(w[0] for w in words)[:letters]
    return name[:letters]


def edge_glyphs(description: str) -> str:
    """A hypothesis as compact edges (``alco→flav colo→hue``), ``∅`` for no edges at all."""
    edges = parse_edges(description)
    if not edges:
        return "∅ (independent)" if "independent" in description else description
    return "  ".join(f"{abbreviate(a)}→{abbreviate(b)}" for a, b in edges)


def mass_bar(share: float, width: int = 10) -> str:
    """A hypothesis's sampled mass as a bar of eighths (``share`` in [0, 1])."""
    eighths = round(min(max(share, 0.0), 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")).ljust(width)


def journal_text(view: JournalView) -> Text:
    """The journal's row: down (spilling to the outbox), warming up, catching up or current.

    Why this wording: the graph writer starts in its own process and takes seconds; until its
    first write every episode waits in memory, and ``0 written / N pending`` read as a failing
    store. Nothing is lost while it catches up, which is what the row says.
    """
    s = view.status
    if not s.up:
        return Text.from_markup(
            f"[red]store down[/red]: {s.pending:,} episodes spilled to the outbox "
            "(replayed when it answers)"
        )
    if s.written == 0 and s.pending:
        return Text.from_markup(
            f"[yellow]starting the graph writer[/yellow]: {s.pending:,} episodes waiting "
            "(kept: nothing is lost)"
        )
    if s.pending > s.written // 10 + 100:
        share = s.written / (s.written + s.pending)
        return Text.from_markup(
            f"[yellow]catching up[/yellow]: {s.written:,} written, {s.pending:,} waiting "
            f"({share:.0%})"
        )
    return Text(f"{s.written:,} written, {s.pending:,} waiting")


def hypotheses_panel(snapshot: RunSnapshot) -> Panel:
    """Cognition's latest batch: mass bar, share and edge glyphs of its top hypotheses, then
    the window it explains and a legend of the glyphs' abbreviations."""
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column("mass", width=MASS_WIDTH, no_wrap=True, style="magenta")
    table.add_column("share", justify="right", width=4)
    table.add_column("edges")
    title = "hypotheses: causal structure of the recent misses"
    batch = snapshot.batch
    if batch is None:
        table.add_row("", "", Text.from_markup(_waiting(snapshot)))
        return Panel(table, title=title, title_align="left")
    for h in batch.hypotheses[:SHOWN_HYPOTHESES]:
        table.add_row(mass_bar(h.share, MASS_WIDTH), f"{h.share:.0%}", edge_glyphs(h.description))
    names = sorted({n for h in batch.hypotheses for e in parse_edges(h.description) for n in e})
    legend = ", ".join(f"{abbreviate(n)}={n}" for n in names)
    caption = Text.from_markup(
        f"[dim]window of {len(batch.stimulus_ids)} stimuli, sampled in {batch.latency_s:.1f} s"
        + (f"; {legend}" if legend else "")
        + "[/dim]"
        + (
            ", [yellow]samples bunched in one equivalence class[/yellow]"
            if batch.mode_collapse
            else ""
        )
    )
    return Panel(Group(table, caption), title=title, title_align="left")


def _waiting(s: RunSnapshot) -> str:
    """Why there is no hypothesis yet: failing, nothing to explain, or thinking."""
    if s.cognition_failures:
        return f"[yellow]cognition failed {s.cognition_failures} times[/yellow]"
    if not s.offered:
        return (
            "[dim]no misses yet: every stimulus so far was a confident reflex hit, and "
            "cognition explains what reflexes miss[/dim]"
        )
    return f"[dim]cognition is thinking about {s.offered:,} misses…[/dim]"


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:6.1%}" if whole else "     –"


def stats_table(s: RunSnapshot) -> Table:
    """The left column: progress, rates with their sparklines, the oscillator, the stores."""
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    t.add_row("progress", progress_text(s.processed, s.total, s.elapsed_s))
    rate = s.processed / s.elapsed_s if s.elapsed_s > 0 else 0.0
    t.add_row(
        "throughput",
        Text(f"{rate:8,.0f}/s ").append(sparkline(s.throughput, low=0.0), style="cyan"),
    )
    passed = s.tiers.get("instinct", 0) + s.tiers.get("none", 0)
    t.add_row(
        "reflex hits",
        Text(f"{_percent(s.tiers.get('instinct', 0), passed)}   ").append(
            sparkline(s.hit_rate, low=0.0, high=1.0), style="green"
        ),
    )
    if s.tiers.get("labelled_hits"):
        t.add_row(
            "reflex accuracy",
            f"{_percent(s.tiers.get('correct_hits', 0), s.tiers['labelled_hits'])} "
            "(hits that match the label)",
        )
    answered = max(s.processed, 1)
    t.add_row(
        "misses / suppressed",
        f"{s.tiers.get('none', 0) / answered:6.1%} / {s.tiers.get('suppressed', 0) / answered:.1%}",
    )
    t.add_row("reflexes stored", f"{s.reflexes:,}")
    latency = (
        f"{s.latency_p50_ms:.3f} / {s.latency_p99_ms:.3f} ms"
        if s.latency_p50_ms is not None and s.latency_p99_ms is not None
        else "–"
    )
    t.add_row("latency p50 / p99", latency)
    t.add_row(
        "alpha",
        oscillator_strip(s.phase_rad, s.power, s.suppress_below).append(
            f" {s.frequency_hz:.1f} Hz, power {s.power:.2f}", style="default"
        ),
    )
    t.add_row("nervous system", s.state)
    if s.cognition:
        t.add_row("cognition", f"{s.tiers.get('cognition', 0):,} batches" + (
            f" ({s.cognition_from})" if s.cognition_from else ""))  # fmt: skip
    if s.journal is not None:
        t.add_row("journal", journal_text(s.journal))
    if s.bus is not None:
        sent, queued, degraded = s.bus
        t.add_row(
            "bus",
            f"{sent:,} answers sent / {queued:,} queued"
            + (" [red]degraded[/red]" if degraded else ""),
        )
    if s.console_url:
        t.add_row("console", Text(s.console_url, style="underline blue"))
    if s.stage != "streaming":
        t.add_row("now", Text(s.stage, style="yellow"))
    return t


def render_snapshot(snapshot: RunSnapshot) -> Group:
    """One frame: the stats panel, then (when cognition runs) the latest hypotheses."""
    panel = Panel(stats_table(snapshot), title="Emily Sovereign — triune runtime")
    if not snapshot.cognition:  # nothing will ever fill a hypotheses table
        return Group(panel)
    return Group(panel, hypotheses_panel(snapshot))


def render(runtime: TriuneRuntime, processed: int, elapsed_s: float) -> Group:
    """One frame straight from a runtime (no history): ``render_snapshot(snapshot_of(...))``."""
    return render_snapshot(snapshot_of(runtime, processed, elapsed_s))


# ---------------------------------------------------------------- start-up and summary


@dataclass(frozen=True)
class Step:
    """A start-up step as the loading view shows it (``seconds`` is ``None`` while it runs)."""

    what: str
    seconds: float | None = None


def loading_view(steps: Sequence[Step], title: str = "Emily Sovereign — starting") -> Panel:
    """What is loading, step by step: done steps with their time, the running one last."""
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column(width=1)
    t.add_column()
    t.add_column(justify="right", style="dim")
    for step in steps:
        if step.seconds is None:
            t.add_row(Spinner("dots", style="yellow"), Text(step.what), "")
        else:
            t.add_row(Text("✓", style="green"), Text(step.what), f"{step.seconds:.1f} s")
    return Panel(t, title=title)


@dataclass(frozen=True)
class RunTiming:
    """A run's time split at its last stimulus: streaming, then shutdown (flushes, closes).

    Why split: throughput is stimuli per second of *streaming*; counting the seconds spent
    flushing the journal or waiting for a last cognition batch made fast runs look slow.
    """

    n: int
    stream_s: float
    total_s: float
    """From the first stimulus to the end of the finish."""
    startup_s: float = 0.0
    """Before the first stimulus: imports, stores, processes."""

    @property
    def per_second(self) -> float:
        """Stimuli per second of streaming (0 for an empty or instant run)."""
        return self.n / self.stream_s if self.stream_s > 0 else 0.0

    @property
    def shutdown_s(self) -> float:
        """Seconds after the last stimulus (never negative)."""
        return max(self.total_s - self.stream_s, 0.0)

    def describe(self) -> str:
        """``in 6.02 s (249/s), then 1.30 s to finish (…)``, after the start-up if known."""
        started = f" after {self.startup_s:.1f} s of start-up" if self.startup_s else ""
        return (
            f"in {self.stream_s:.2f} s ({self.per_second:,.0f}/s){started}, "
            f"then {self.shutdown_s:.2f} s to finish (journal, cognition)"
        )
