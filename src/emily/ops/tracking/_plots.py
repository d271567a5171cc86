"""The two plots every training run carries: its training curves and its hypothesis distribution.

Why one axis per metric: the metrics of a run live on unrelated scales (a loss spanning orders
of magnitude, log Z in nats, L1 in ``[0, 2]``, trajectories in the thousands); on a shared
linear axis the largest flattens every other line. Each metric gets its own panel with the
title, unit and range from ``_metric_info.METRICS``. Why ``matplotlib.figure.Figure`` and not
``pyplot``: pyplot keeps global state and picks a GUI backend; a bare ``Figure`` renders with
the Agg canvas, headless.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

from emily.ops.tracking._metric_info import metric_info

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_BARS = 40
"""Hypotheses shown in the distribution plot; the rest are summed into one "other" bar."""
FIRST = ("loss", "log_z", "l1", "jsd")
"""Panels drawn first, in this order; the rest follow by name."""


def loss_curve_figure(history: Mapping[str, Sequence[tuple[int, float]]]) -> Figure:
    """Plot each metric of ``history`` (``name -> [(step, value), ...]``) on its own axis.

    A positive loss gets a log axis (trajectory-balance losses span orders of magnitude); a
    bounded metric (L1, JSD, diversity) shows its whole range, so "1.96" reads as near the
    worst possible; a metric logged once (exact L1 at the end) is drawn as a point.
    """
    from matplotlib.figure import Figure

    names = [n for n in history if history[n]]
    names.sort(key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))
    columns = 2 if len(names) > 1 else 1
    rows = max(1, math.ceil(len(names) / columns))
    fig = Figure(figsize=(6 * columns, 2.6 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        info = metric_info(name)
        steps, values = zip(*history[name], strict=True)
        ax.plot(steps, values, marker="o" if len(values) < 3 else None)
        if info.log and min(values) > 0:
            ax.set_yscale("log")
        elif info.low is not None or info.high is not None:
            top = info.high if info.high is not None else max(*values, info.low or 0) * 1.05
            ax.set_ylim(info.low if info.low is not None else min(values), top or 1.0)
        ax.set_title(info.title, fontsize="medium")
        ax.set_ylabel(info.unit)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def hypothesis_label(description: object) -> str:
    """A tick label a person reads: ``a→b, b→c`` for a DAG's edges, ``(1, 3)`` for a grid cell.

    An environment describes a hypothesis as data (a list of ``(parent, child)`` pairs, a tuple
    of coordinates); ``str()`` of those gives ``[('a', 'b')]``, quotes and all.
    """
    if isinstance(description, list | tuple) and all(
        isinstance(e, list | tuple) and len(e) == 2 for e in description
    ):
        if not description:
            return "(no edges)"
        return ", ".join(f"{a}→{b}" for a, b in description)
    if isinstance(description, tuple):
        return "(" + ", ".join(str(v) for v in description) + ")"
    return str(description)


def _short(label: str, width: int = 32) -> str:
    """Long hypotheses (a DAG's edge list) cut to a tick label that leaves room for the bars."""
    return label if len(label) <= width else label[: width - 1] + "…"


def hypothesis_distribution_figure(
    counts: Mapping[Hashable, int],
    *,
    target: Mapping[Hashable, float] | None = None,
    target_name: str = "target",
) -> Figure:
    """Bar chart of the sampled frequency of each hypothesis, against ``target`` where known.

    Bars are frequencies (not counts), so they compare with the target's probabilities drawn as
    markers (``target_name``: ``exact`` for an enumerated posterior, ``MCMC reference`` ...).
    Hypotheses are ranked by the larger of the two, so a high-probability hypothesis the sampler
    never drew still shows (as a marker over an empty bar). A GFlowNet should spread samples as
    the target does; one tall bar is mode collapse at a glance.
    """
    from matplotlib.figure import Figure

    total = sum(counts.values()) or 1
    freq = {h: c / total for h, c in counts.items()}
    goal = dict(target or {})
    keys = set(freq) | set(goal)
    ranked = sorted(keys, key=lambda h: (-max(freq.get(h, 0.0), goal.get(h, 0.0)), str(h)))
    shown, rest = ranked[:MAX_BARS], ranked[MAX_BARS:]
    labels = [_short(str(h)) for h in shown]
    heights = [freq.get(h, 0.0) for h in shown]
    marks = [goal.get(h, 0.0) for h in shown]
    if rest:
        labels.append(f"other ({len(rest)})")
        heights.append(sum(freq.get(h, 0.0) for h in rest))
        marks.append(sum(goal.get(h, 0.0) for h in rest))
    fig = Figure(figsize=(10, 4.5))
    ax = fig.subplots()
    positions = range(len(heights))
    ax.bar(positions, heights, label=f"sampled ({sum(counts.values())} draws)")
    if goal:
        ax.scatter(positions, marks, marker="_", s=200, color="black", zorder=3,
                   label=f"{target_name} probability")  # fmt: skip
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xticks(positions, labels, rotation=90, fontsize="x-small")
    ax.set_ylabel("probability")
    ax.set_xlabel("hypothesis")
    against = f" against the {target_name} distribution" if goal else ""
    ax.set_title(f"hypothesis distribution: {len(counts)} distinct sampled{against}")
    fig.tight_layout()
    return fig
