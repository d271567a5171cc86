"""House conventions shared by every tier: the data base class, the clock, settings, errors."""

from emily.core.clock import Clock, ManualClock, SystemClock, system_clock
from emily.core.errors import ConfigError, EmilyError, InputError
from emily.core.models import SovereignModel

__all__ = [
    "Clock",
    "ConfigError",
    "EmilyError",
    "InputError",
    "ManualClock",
    "SovereignModel",
    "SystemClock",
    "system_clock",
]
