"""The console's knobs, in a module of their own: ``ApiOptions`` embeds them, and importing
them must not pull in the frame builder (which imports the API's models: an import cycle)."""

from __future__ import annotations

from pydantic import Field

from emily.core import SovereignModel

MAX_RATE_HZ = 20.0


class ConsoleOptions(SovereignModel):
    """How often the console updates, how much oscillator it shows, how many may watch."""

    rate_hz: float = Field(4.0, ge=0.1, le=MAX_RATE_HZ, allow_inf_nan=False)
    """Frames per second sent to each viewer (a few: the page animates nothing in between)."""
    window_s: float = Field(1.0, gt=0.0, le=10.0, allow_inf_nan=False)
    """Seconds of oscillator history per frame (8 cycles at 8 Hz)."""
    points: int = Field(160, ge=16, le=2000)
    """Oscillator samples per window (160 over 1 s: 20 per 8 Hz cycle)."""
    max_viewers: int = Field(8, ge=1, le=256)
    """Streams open at once; one more is refused with 503."""
