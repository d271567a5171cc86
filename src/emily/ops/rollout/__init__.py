"""Safe rollout of new models: shadow mode, A/B tests, canaries, blue-green switches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.rollout._ab import NOT_YET, ABTest, ABVerdict, welch_p_value
    from emily.ops.rollout._bluegreen import (
        BlueGreenDeployment,
        ModelLoader,
        SmokeTest,
        default_smoke_test,
    )
    from emily.ops.rollout._canary import SLO, AliasMover, CanaryReport, CanaryRollout, CanaryState
    from emily.ops.rollout._hashing import BUCKETS, assign_variant, in_percentage, stable_bucket
    from emily.ops.rollout._model import (
        Answer,
        DescribedSamples,
        HypothesisModel,
        call_measured,
        diversity,
        overlap,
    )
    from emily.ops.rollout._serving import (
        AB_SETTINGS,
        SHADOW,
        ABSettings,
        RolloutRegistry,
        RolloutRouter,
        Route,
        ShadowSettings,
        ab_id,
        shadow_id,
    )
    from emily.ops.rollout._shadow import ComparisonSink, ShadowDeployment
    from emily.ops.rollout._state import RolloutRecord, RolloutStore

_HOMES = {
    "emily.ops.rollout._ab": ("ABTest", "ABVerdict", "NOT_YET", "welch_p_value"),
    "emily.ops.rollout._bluegreen": (
        "BlueGreenDeployment", "ModelLoader", "SmokeTest", "default_smoke_test",
    ),
    "emily.ops.rollout._canary": (
        "AliasMover", "CanaryReport", "CanaryRollout", "CanaryState", "SLO",
    ),
    "emily.ops.rollout._hashing": ("BUCKETS", "assign_variant", "in_percentage", "stable_bucket"),
    "emily.ops.rollout._model": (
        "Answer", "DescribedSamples", "HypothesisModel", "call_measured", "diversity", "overlap",
    ),
    "emily.ops.rollout._serving": (
        "ABSettings", "AB_SETTINGS", "RolloutRegistry", "RolloutRouter", "Route", "SHADOW",
        "ShadowSettings", "ab_id", "shadow_id",
    ),
    "emily.ops.rollout._shadow": ("ComparisonSink", "ShadowDeployment"),
    "emily.ops.rollout._state": ("RolloutRecord", "RolloutStore"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "AB_SETTINGS",
    "BUCKETS",
    "NOT_YET",
    "SHADOW",
    "SLO",
    "ABSettings",
    "ABTest",
    "ABVerdict",
    "AliasMover",
    "Answer",
    "BlueGreenDeployment",
    "CanaryReport",
    "CanaryRollout",
    "CanaryState",
    "ComparisonSink",
    "DescribedSamples",
    "HypothesisModel",
    "ModelLoader",
    "RolloutRecord",
    "RolloutRegistry",
    "RolloutRouter",
    "RolloutStore",
    "Route",
    "ShadowDeployment",
    "ShadowSettings",
    "SmokeTest",
    "ab_id",
    "assign_variant",
    "call_measured",
    "default_smoke_test",
    "diversity",
    "in_percentage",
    "overlap",
    "shadow_id",
    "stable_bucket",
    "welch_p_value",
]
