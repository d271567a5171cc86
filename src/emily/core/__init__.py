"""House conventions shared by every tier: the data base class, the clock, settings, errors.

Every other package builds on these four, so the rules they carry hold everywhere:

* `SovereignModel` is the one Pydantic base for data that crosses a boundary (API bodies,
  stored records, bus messages, configuration): strict, closed to unknown keys and frozen, so
  nothing is silently coerced, padded or changed after validation.
* `Clock` is the temporal lock: agent code never reads the wall clock, it is handed a
  clock (`SystemClock` in production, `ManualClock` in tests and replays), so the
  alpha phase, latency budgets and timestamps of a run can be replayed exactly.
* `EmilyError` and its subclasses `InputError` (bad input from a user or a file),
  `ConfigError` (a setting or an installation that cannot work) and `BusyError` (a shared
  resource stayed taken: nothing changed, try again) are what the project raises on purpose;
  the CLI and the HTTP API turn them into one-line messages, anything else is a bug.
* Settings (`emily.core.settings`, ``load_settings``) gather every ``EMILY_*`` variable and
  the optional ``emily.toml`` into one validated object: where ``EMILY_HOME`` is and which engine
  is embedded or reached by URL.
"""

from emily.core.clock import Clock, ManualClock, SystemClock, system_clock
from emily.core.errors import BusyError, ConfigError, EmilyError, InputError
from emily.core.models import SovereignModel

__all__ = [
    "BusyError",
    "Clock",
    "ConfigError",
    "EmilyError",
    "InputError",
    "ManualClock",
    "SovereignModel",
    "SystemClock",
    "system_clock",
]
