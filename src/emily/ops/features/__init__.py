"""The feature store: Feast definitions, materialisation, online lookups and the live stream.

Feast runs in its own environment (``.venv-feast``, ADR 0010) through ``FeastRunner``, which
keeps one Feast process for all its calls (``with FeastRunner(config) as feast:``); the
runtime reads and the bus stream writes the online store directly (``OnlineFeatures``,
``FeatureStreamWriter``) in the layout Feast uses, so both sides see the same rows.

Public names are imported on first use (PEP 562), so the CLI loads NumPy only for a
feature command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.features._codec import entity_key, murmur3_32, redis_field
    from emily.ops.features._config import (
        DEFAULT_PROJECT,
        FEATURE_NAMES,
        FEATURE_VIEW,
        JOIN_KEY,
        FeatureStoreConfig,
        feast_connection_string,
        feature_store_config,
        render_repo,
    )
    from emily.ops.features._feast import FeastRunner, FeatureStoreError
    from emily.ops.features._latency import LatencyReport, measure_lookups
    from emily.ops.features._online import (
        FeatureRow,
        OnlineFeatures,
        OnlineStore,
        RedisOnlineStore,
        SqliteOnlineStore,
        open_online_store,
    )
    from emily.ops.features._stream import (
        FEATURES_KEY,
        FeatureStreamWriter,
        StreamStats,
        publish_features,
    )

_HOMES = {
    "emily.ops.features._codec": ("entity_key", "murmur3_32", "redis_field"),
    "emily.ops.features._config": (
        "DEFAULT_PROJECT", "FEATURE_NAMES", "FEATURE_VIEW", "FeatureStoreConfig", "JOIN_KEY",
        "feast_connection_string", "feature_store_config", "render_repo",
    ),
    "emily.ops.features._feast": ("FeastRunner", "FeatureStoreError"),
    "emily.ops.features._latency": ("LatencyReport", "measure_lookups"),
    "emily.ops.features._online": (
        "FeatureRow", "OnlineFeatures", "OnlineStore", "RedisOnlineStore", "SqliteOnlineStore",
        "open_online_store",
    ),
    "emily.ops.features._stream": (
        "FEATURES_KEY", "FeatureStreamWriter", "StreamStats", "publish_features",
    ),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "DEFAULT_PROJECT",
    "FEATURES_KEY",
    "FEATURE_NAMES",
    "FEATURE_VIEW",
    "JOIN_KEY",
    "FeastRunner",
    "FeatureRow",
    "FeatureStoreConfig",
    "FeatureStoreError",
    "FeatureStreamWriter",
    "LatencyReport",
    "OnlineFeatures",
    "OnlineStore",
    "RedisOnlineStore",
    "SqliteOnlineStore",
    "StreamStats",
    "entity_key",
    "feast_connection_string",
    "feature_store_config",
    "measure_lookups",
    "murmur3_32",
    "open_online_store",
    "publish_features",
    "redis_field",
    "render_repo",
]
