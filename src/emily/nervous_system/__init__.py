"""The nervous system tier: alpha-band attention gating and the regulator that routes stimuli.

``AlphaOscillatoryAttention`` decides how much of each stimulus gets through (a gain in [0, 1]);
``Regulator`` decides which tier handles it (``Route``) and falls back to Tier 0 reflexes when the
latency budget is broken or a dependency is down. The model is in ``_alpha``'s docstring and
ADR 0004.
"""

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
