"""What each training metric means, its range and which end is good: one table for plots and prints.

Why one table: ``emily train`` printing ``l1: 1.962`` and a plot drawing L1 on an axis that
ends at 1.97 both hide that L1 between two distributions lies in ``[0, 2]`` (0: identical, 2:
disjoint). The loss-curve figure and the CLI read their titles, axis ranges and one-line
explanations from ``METRICS``, so they cannot disagree.
"""

from __future__ import annotations

import math

from emily.core import SovereignModel


class MetricInfo(SovereignModel):
    """How to show one metric.

    Attributes:
        title: Plot title and long name.
        unit: Axis label.
        low: Smallest possible value (axis floor), if bounded.
        high: Largest possible value (axis ceiling), if bounded.
        good: Which value is good, in words (``0 = identical``).
        log: Plot on a log axis when every value is positive.
    """

    title: str
    unit: str
    low: float | None = None
    high: float | None = None
    good: str = ""
    log: bool = False


METRICS: dict[str, MetricInfo] = {
    "loss": MetricInfo(title="loss (training objective)", unit="loss", log=True),
    "log_z": MetricInfo(title="log Z (estimated log partition function)", unit="nats"),
    "mean_log_reward": MetricInfo(title="mean log-reward of the batch", unit="nats"),
    "diversity": MetricInfo(
        title="diversity of the batch",
        unit="mean pairwise distance",
        low=0.0,
        high=1.0,
        good="0 = one hypothesis only",
    ),
    "modes": MetricInfo(title="modes found", unit="distinct modes", low=0.0),
    "trajectories": MetricInfo(title="trajectories sampled", unit="trajectories", low=0.0),
    "elapsed_s": MetricInfo(title="wall time", unit="seconds", low=0.0),
    "l1": MetricInfo(
        title="L1 distance to the target",
        unit="sum |p - target|",
        low=0.0,
        high=2.0,
        good="0 = exactly the target, 2 = disjoint",
    ),
    "jsd": MetricInfo(
        title="Jensen-Shannon divergence to the target",
        unit="nats",
        low=0.0,
        high=math.log(2),
        good="0 = exactly the target, ln 2 = disjoint",
    ),
    "acceptance_rate": MetricInfo(
        title="MCMC acceptance rate", unit="share of proposals", low=0.0, high=1.0
    ),
}


def metric_info(name: str) -> MetricInfo:
    """The table's entry for ``name``; an unknown metric gets its own name as title."""
    return METRICS.get(name) or MetricInfo(title=name, unit=name)


def describe_metric(name: str, value: float) -> str:
    """``1.962 of 2.0 max (L1 distance to the target; 0 = exactly the target, 2 = disjoint)``.

    Unknown metrics, and metrics with no range, print as the bare number.
    """
    info = METRICS.get(name)
    shown = f"{value:.4g}"
    if info is None or info.high is None:
        return shown
    note = f"{info.title}; {info.good}" if info.good else info.title
    return f"{shown} of {round(info.high, 3)} max ({note})"
