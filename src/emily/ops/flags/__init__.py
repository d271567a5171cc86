"""Feature flags behind the OpenFeature API, served from ``EMILY_HOME/flags.yaml``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.flags._provider import (
        DOMAIN,
        PROVIDER_NAME,
        FileFlagProvider,
        install_flags,
        select_gflownet,
    )
    from emily.ops.flags._schema import (
        DEFAULT_FLAGS,
        GFLOWNET_V2_FLAG,
        Evaluation,
        FlagsFile,
        FlagSpec,
        FlagValue,
        Rollout,
        TargetingRule,
        evaluate,
    )
    from emily.ops.flags._store import FlagStore, flags_path, lock_path, parse_flags

_HOMES = {
    "emily.ops.flags._provider": (
        "DOMAIN", "FileFlagProvider", "PROVIDER_NAME", "install_flags", "select_gflownet",
    ),
    "emily.ops.flags._schema": (
        "DEFAULT_FLAGS", "Evaluation", "FlagSpec", "FlagValue", "FlagsFile", "GFLOWNET_V2_FLAG",
        "Rollout", "TargetingRule", "evaluate",
    ),
    "emily.ops.flags._store": ("FlagStore", "flags_path", "lock_path", "parse_flags"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "DEFAULT_FLAGS",
    "DOMAIN",
    "GFLOWNET_V2_FLAG",
    "PROVIDER_NAME",
    "Evaluation",
    "FileFlagProvider",
    "FlagSpec",
    "FlagStore",
    "FlagValue",
    "FlagsFile",
    "Rollout",
    "TargetingRule",
    "evaluate",
    "flags_path",
    "install_flags",
    "lock_path",
    "parse_flags",
    "select_gflownet",
]
