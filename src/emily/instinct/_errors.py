"""Deliberate errors of the instinct tier: each names what was wrong and what is expected.

All are :class:`emily.core.InputError` (a ``ValueError``), so callers that only know the house
base still catch them; none is raised after anything was changed, so bad input never costs a
stored reflex.
"""

from __future__ import annotations

from emily.core import InputError


class HypervectorError(InputError):
    """A hypervector has the wrong dimension, shape or dtype (expected packed ``uint8``)."""


class NonFiniteValueError(InputError):
    """A numeric feature or confidence is NaN or infinite."""


class UnknownFeatureError(InputError):
    """A feature's type is not numeric/categorical, or a categorical value is not in its list."""


class EmptyStimulusError(InputError):
    """A stimulus with nothing to encode: an empty mapping or an empty text."""


class SchemaDriftError(InputError):
    """A stimulus or a stored reflex table does not match the schema the encoder was built for."""
