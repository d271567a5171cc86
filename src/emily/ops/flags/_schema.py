"""The flags file's schema and the pure evaluation of one flag for one context.

Format (``EMILY_HOME/flags.yaml``)::

    flags:
      enable_gflownet_v2:
        description: Use the V2 GFlowNet sampler instead of V1.
        variants: {on: true, off: false}
        default_variant: off
        targeting:              # first matching rule wins
          - keys: [lab-alice]   # exact targeting keys ...
            variant: on
          - attribute: tier     # ... or a context attribute's value
            values: [beta]
            variant: on
        rollout: {variant: on, percent: 10}   # stable percentage of targeting keys

Why variants instead of bare values: a rollout or a rule names a variant, the value type is
declared once, and OpenFeature reports which variant answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from pydantic import Field, model_validator

from emily.core import SovereignModel
from emily.ops.rollout import in_percentage

FlagValue = bool | int | float | str
GFLOWNET_V2_FLAG = "enable_gflownet_v2"


class TargetingRule(SovereignModel):
    """Serve ``variant`` to listed targeting keys, or where ``attribute`` has one of ``values``."""

    variant: str
    keys: list[str] = Field(default_factory=list)
    attribute: str | None = None
    values: list[FlagValue] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_condition(self) -> Self:
        if not self.keys and self.attribute is None:
            raise ValueError("a targeting rule needs `keys` or `attribute` + `values`")
        if self.attribute is not None and not self.values:
            raise ValueError(f"targeting on attribute {self.attribute!r} needs `values`")
        return self

    def matches(self, key: str | None, attributes: Mapping[str, object]) -> bool:
        """Whether this rule applies to the evaluation context."""
        if key is not None and key in self.keys:
            return True
        return self.attribute is not None and attributes.get(self.attribute) in self.values


class Rollout(SovereignModel):
    """Serve ``variant`` to a stable ``percent`` of targeting keys (hash of flag name + key)."""

    variant: str
    percent: float = Field(ge=0.0, le=100.0)


class FlagSpec(SovereignModel):
    """One flag: its variants, default, targeting rules and percentage rollout."""

    description: str = ""
    enabled: bool = True
    variants: dict[str, FlagValue] = Field(min_length=1)
    default_variant: str
    targeting: list[TargetingRule] = Field(default_factory=list)
    rollout: Rollout | None = None

    @model_validator(mode="after")
    def _variants_exist(self) -> Self:
        named = [self.default_variant, *(r.variant for r in self.targeting)]
        if self.rollout is not None:
            named.append(self.rollout.variant)
        unknown = sorted({v for v in named if v not in self.variants})
        if unknown:
            raise ValueError(f"unknown variant(s) {unknown}; declared: {sorted(self.variants)}")
        return self


class FlagsFile(SovereignModel):
    """The whole flags file."""

    flags: dict[str, FlagSpec] = Field(default_factory=dict)


class Evaluation(SovereignModel):
    """Which variant a flag gave and why (an OpenFeature reason)."""

    variant: str | None
    value: FlagValue | None
    reason: str


def evaluate(
    flag_key: str, spec: FlagSpec, key: str | None, attributes: Mapping[str, object]
) -> Evaluation:
    """Evaluate ``spec`` for a targeting ``key``: disabled, rule, rollout, then default.

    A disabled flag answers with no variant (the caller's default applies, reason DISABLED).
    Without a targeting key a rollout cannot be stable, so the default variant answers.
    """
    if not spec.enabled:
        return Evaluation(variant=None, value=None, reason="DISABLED")
    for rule in spec.targeting:
        if rule.matches(key, attributes):
            return Evaluation(
                variant=rule.variant, value=spec.variants[rule.variant], reason="TARGETING_MATCH"
            )
    if spec.rollout is not None and key is not None:
        chosen = (
            spec.rollout.variant
            if in_percentage(key, salt=f"flag:{flag_key}", percent=spec.rollout.percent)
            else spec.default_variant
        )
        return Evaluation(variant=chosen, value=spec.variants[chosen], reason="SPLIT")
    default = spec.default_variant
    return Evaluation(variant=default, value=spec.variants[default], reason="STATIC")


DEFAULT_FLAGS = FlagsFile(
    flags={
        GFLOWNET_V2_FLAG: FlagSpec(
            description="Serve hypotheses from the V2 GFlowNet instead of the battle-tested V1.",
            variants={"on": True, "off": False},
            default_variant="off",
        )
    }
)
"""Flags known before any file exists; a flags file replaces them wholesale."""
