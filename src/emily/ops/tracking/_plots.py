"""The two plots every training run carries: its loss curve and its hypothesis distribution.

Why ``matplotlib.figure.Figure`` and not ``pyplot``: pyplot keeps global state and picks a GUI
backend; a bare ``Figure`` renders with the Agg canvas, headless and thread-safe enough for a
training process.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_BARS = 40
"""Hypotheses shown in the distribution plot; the rest are summed into one "other" bar."""


def loss_curve_figure(history: Mapping[str, Sequence[tuple[int, float]]]) -> Figure:
    """Plot each metric of ``history`` (``name -> [(step, value), ...]``) against the step.

    The loss goes on its own axis with a log scale when positive (trajectory-balance losses
    span orders of magnitude); every other metric shares a second, linear axis.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    loss_ax, other_ax = fig.subplots(2, 1, sharex=True)
    for name, points in sorted(history.items()):
        if not points:
            continue
        steps, values = zip(*points, strict=True)
        ax = loss_ax if name == "loss" else other_ax
        ax.plot(steps, values, label=name)
    loss = [v for _, v in history.get("loss", [])]
    if loss and min(loss) > 0:
        loss_ax.set_yscale("log")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("training curve")
    other_ax.set_xlabel("step")
    for ax in (loss_ax, other_ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def _short(label: str, width: int = 32) -> str:
    """Long hypotheses (a DAG's edge list) cut to a tick label that leaves room for the bars."""
    return label if len(label) <= width else label[: width - 1] + "…"


def hypothesis_distribution_figure(counts: Mapping[Hashable, int]) -> Figure:
    """Bar chart of how often each hypothesis was sampled, most frequent first.

    A GFlowNet should spread samples over many modes; one tall bar is mode collapse at a glance.
    """
    from matplotlib.figure import Figure

    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    shown = ranked[:MAX_BARS]
    labels = [_short(str(h)) for h, _ in shown]
    heights = [c for _, c in shown]
    rest = sum(c for _, c in ranked[MAX_BARS:])
    if rest:
        labels.append(f"other ({len(ranked) - MAX_BARS})")
        heights.append(rest)
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    ax.bar(range(len(heights)), heights)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize="x-small")
    ax.set_ylabel("samples")
    ax.set_title(
        f"hypothesis distribution ({sum(counts.values())} samples, {len(counts)} distinct)"
    )
    fig.tight_layout()
    return fig
