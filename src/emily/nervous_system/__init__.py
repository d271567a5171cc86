"""The nervous system tier: alpha-band attention gating and the regulator that routes stimuli.

``AlphaOscillatoryAttention`` decides how much of each stimulus gets through (a gain in [0, 1]);
``Regulator`` decides which tier handles it (``Route``) and falls back to Tier 0 reflexes when the
latency budget is broken or a dependency is down. The model is in ``_alpha``'s docstring and
ADR 0004.

How the runtime uses them, per stimulus: ``attention.gate(signals, timestamps)`` returns a
``GateResult`` (the gain of each stimulus at its time), ``regulator.route(gain)`` picks
suppress, reflex only or reflex then cognition, and ``regulator.report_latency`` feeds each
answer's latency back, so a broken 50 ms budget moves the state machine (resting, processing,
fallback, recovering; ``ALLOWED_TRANSITIONS``) into fallback. ``diagnostics()`` and ``status()``
are what ``/state``, the console and the Prometheus alerts read (alpha power, frequency drift,
the current state and its transitions); alert remediation acts through ``recalibrate_phase``,
the gain ``alpha_power_gain``, and ``force_fallback`` / ``release_fallback``.
``inhibition_gain`` and ``open_fraction`` are the model's closed forms, for plots and tests.
The names are imported on first use (PEP 562), like every tier's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.nervous_system._alpha import (
        ALPHA_BAND_HZ,
        AlphaDiagnostics,
        AlphaOscillatoryAttention,
        GateResult,
        inhibition_gain,
        open_fraction,
    )
    from emily.nervous_system._regulator import (
        ALLOWED_TRANSITIONS,
        NervousState,
        Regulator,
        RegulatorConfig,
        RegulatorStatus,
        Route,
        Transition,
    )

_HOMES = {
    "emily.nervous_system._alpha": (
        "ALPHA_BAND_HZ", "AlphaDiagnostics", "AlphaOscillatoryAttention", "GateResult",
        "inhibition_gain", "open_fraction",
    ),
    "emily.nervous_system._regulator": (
        "ALLOWED_TRANSITIONS", "NervousState", "Regulator", "RegulatorConfig", "RegulatorStatus",
        "Route", "Transition",
    ),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "ALLOWED_TRANSITIONS",
    "ALPHA_BAND_HZ",
    "AlphaDiagnostics",
    "AlphaOscillatoryAttention",
    "GateResult",
    "NervousState",
    "Regulator",
    "RegulatorConfig",
    "RegulatorStatus",
    "Route",
    "Transition",
    "inhibition_gain",
    "open_fraction",
]
