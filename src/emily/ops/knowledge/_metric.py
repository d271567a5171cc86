"""The shape of one success metric in ``emily report``."""

from __future__ import annotations

from typing import Literal

from emily.core import SovereignModel

Status = Literal["ok", "failing", "not measured"]


class Metric(SovereignModel):
    """One success metric: its value, whether it meets its target, and how to measure it.

    Attributes:
        name: What is measured (``coverage``, ``backup``, ...).
        value: The measured figure, or ``not measured``.
        target: What counts as meeting it.
        status: ``ok``, ``failing``, or ``not measured`` (no record to read).
        detail: Where the figure came from, or why there is none.
        measure: The command that measures it.
    """

    name: str
    value: str
    target: str
    status: Status
    detail: str
    measure: str


class Report(SovereignModel):
    """All metrics, in the order the seed lists them."""

    metrics: list[Metric]
