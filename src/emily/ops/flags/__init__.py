"""Feature flags behind the OpenFeature API, served from ``EMILY_HOME/flags.yaml``."""

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
