"""The project's one Pydantic base for data that crosses a boundary.

Data that leaves or enters a module (API payloads, stored records, bus messages, configuration
fragments) must not be silently coerced, mutated after validation or padded with unknown keys:
each of those has hidden bugs in the seed's earlier versions. ``SovereignModel`` makes the
strict choice once so every subclass inherits it, and ``scripts/check_sovereign_models.py``
rejects plain ``pydantic.BaseModel`` subclasses elsewhere.
"""

from pydantic import BaseModel, ConfigDict


class SovereignModel(BaseModel):
    """Strict, frozen, closed Pydantic model.

    * ``strict``: no type coercion (``"1"`` is not an ``int``), so bad input fails loudly.
    * ``frozen``: instances are hashable values; nobody edits a record after validation.
    * ``extra="forbid"``: an unknown key is a schema drift, reported rather than dropped.

    Example:
        >>> class Stimulus(SovereignModel):
        ...     name: str
        >>> Stimulus(name="light")
        Stimulus(name='light')
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")
