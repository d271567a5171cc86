"""The live view of ``emily run``: throughput, tier shares, latency, the oscillator, hypotheses."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from emily.runtime.loop import TriuneRuntime


def _percentile_ms(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1e3:.3f} ms" if values else "–"


def render(runtime: TriuneRuntime, processed: int, elapsed_s: float) -> Group:
    """One frame: a stats table beside the latest hypotheses."""
    tiers, latencies, batch = runtime.snapshot()
    alpha = runtime.attention.diagnostics()
    answered = max(processed, 1)
    stats = Table(show_header=False, box=None, padding=(0, 1))
    stats.add_column(style="bold cyan")
    stats.add_column()
    rate = processed / elapsed_s if elapsed_s > 0 else 0.0
    stats.add_row("stimuli", f"{processed:,}  ({rate:,.0f}/s)")
    stats.add_row("reflex hits", f"{tiers.get('instinct', 0) / answered:6.1%}")
    if tiers.get("labelled_hits"):
        accuracy = tiers.get("correct_hits", 0) / tiers["labelled_hits"]
        stats.add_row("reflex accuracy", f"{accuracy:6.1%} (hits that match the label)")
    stats.add_row("reflex misses", f"{tiers.get('none', 0) / answered:6.1%}")
    stats.add_row("suppressed", f"{tiers.get('suppressed', 0) / answered:6.1%}")
    stats.add_row("cognition batches", f"{tiers.get('cognition', 0):,}")
    stats.add_row("reflexes stored", f"{len(runtime.reflexes):,}")
    stats.add_row(
        "latency p50 / p99", f"{_percentile_ms(latencies, 50)} / {_percentile_ms(latencies, 99)}"
    )
    stats.add_row(
        "alpha",
        f"{alpha.frequency_hz:.1f} Hz, phase {alpha.phase_rad / math.pi:+.2f}π, "
        f"power {alpha.effective_power:.2f}",
    )
    stats.add_row("nervous system", str(runtime.regulator.state))
    if runtime.journal is not None:
        journal = runtime.journal.status()
        health = "" if journal.up else " [red]store down: spilling to outbox[/red]"
        stats.add_row(
            "journal", f"{journal.written:,} written / {journal.pending:,} pending{health}"
        )
    if runtime.bus is not None:
        bus = runtime.bus
        health = " [red]degraded[/red]" if bus.degraded else ""
        stats.add_row(
            "bus",
            f"{bus.answers.stats.sent + bus.answers.stats.flushed:,} answers sent / "
            f"{bus.pending:,} queued{health}",
        )
    panel = Panel(stats, title="Emily Sovereign — triune runtime")
    if runtime.cognition is None:  # nothing will ever fill a hypotheses table
        return Group(panel)
    hypotheses = Table(title="latest hypotheses (causal structure)", expand=True)
    hypotheses.add_column("share", justify="right", width=6)
    hypotheses.add_column("graph")
    if batch is None:
        hypotheses.add_row("", "[dim]waiting for cognition…[/dim]")
    else:
        for h in batch.hypotheses[:3]:
            hypotheses.add_row(f"{h.share:.0%}", h.description)
        hypotheses.caption = (
            f"diversity {batch.diversity:.2f}"
            + (" [red]mode collapse[/red]" if batch.mode_collapse else "")
            + f", {batch.latency_s:.1f} s"
        )
    return Group(panel, hypotheses)
