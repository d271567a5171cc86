"""Which cognition model the runtime starts from: the registry's champion, or the flags' variant.

``models:/NAME@champion`` is the contract between research operations and the runtime: promote
a version (``emily models promote``) and the next ``emily run`` warm-starts cognition from it.
Without a compatible champion the runtime trains from scratch with the variant the
``enable_gflownet_v2`` flag selects, and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emily.core import Clock, EmilyError, SovereignModel
from emily.core.settings import EmilySettings
from emily.runtime.model_names import DEFAULT_MODEL
from emily.runtime.structure import CognitionModel, check_compatible

__all__ = ["DEFAULT_MODEL", "CognitionChoice", "choose_cognition", "flag_variant"]


class CognitionChoice(SovereignModel):
    """The model cognition starts from (``None``: from scratch) and why."""

    model: CognitionModel | None
    variant: str
    reason: str


def flag_variant(settings: EmilySettings, clock: Clock, targeting_key: str | None = None) -> str:
    """``v2`` when the ``enable_gflownet_v2`` flag is on (for ``targeting_key``), else ``v1``."""
    from emily.ops.flags import FlagStore, flags_path, install_flags, select_gflownet

    client = install_flags(FlagStore(flags_path(settings), clock=clock))
    return select_gflownet(client, v1=lambda: "v1", v2=lambda: "v2", targeting_key=targeting_key)


def choose_cognition(
    settings: EmilySettings,
    features: Sequence[str],
    clock: Clock,
    *,
    name: str = DEFAULT_MODEL,
    alias: str = "champion",
) -> CognitionChoice:
    """Start from ``models:/name@alias`` if it models DAGs over ``features``; else fall back.

    The checkpoint is the one inside the registered MLflow Model, the file its pyfunc
    ``predict`` (and ``mlflow models serve``) loads: one artifact, not a copy per consumer.
    """
    from emily.ops.registry import ModelRegistry
    from emily.ops.tracking import TrackingConfig, tracking_config

    variant = flag_variant(settings, clock)
    config: TrackingConfig = tracking_config(settings)
    store = config.tracking_uri.removeprefix("sqlite:///")
    if store != config.tracking_uri and not Path(store).exists():
        # Nothing was ever tracked here: skip MLflow's start-up (seconds) on the first run.
        return CognitionChoice(model=None, variant=variant, reason="no model registry yet")
    try:
        registry = ModelRegistry(config=config)
        version = registry.alias_holder(name, alias)
        if version is None:
            return CognitionChoice(
                model=None, variant=variant, reason=f"no {name}@{alias} registered"
            )
        checkpoint = registry.load_checkpoint(name, version)
        model_variant = check_compatible(checkpoint, features)
    except (EmilyError, OSError) as exc:
        return CognitionChoice(
            model=None, variant=variant, reason=f"{name}@{alias} not used: {exc}"
        )
    model = CognitionModel(name=name, version=version, variant=model_variant, checkpoint=checkpoint)
    return CognitionChoice(model=model, variant=model_variant, reason=f"{name}@{alias}")


__all__ = ["DEFAULT_MODEL", "CognitionChoice", "choose_cognition", "flag_variant"]
