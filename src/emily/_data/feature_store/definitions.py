"""Feast definitions of Emily's features (the seed's ``alpha_oscillation_features``).

Read by ``feast apply`` inside the isolated Feast environment (ADR 0010), never imported by the
main package. The offline source is the DVC ``prepare`` stage's Parquet table, whose path the
caller passes in ``EMILY_FEATURES_SOURCE`` (an absolute path).
"""

import os
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float32

episode = Entity(
    name="episode",
    join_keys=["episode_id"],
    value_type=ValueType.STRING,
    description="One gated episode of the alpha oscillator.",
)

alpha_oscillation_data_source = FileSource(
    name="alpha_oscillation_data_source",
    path=os.environ["EMILY_FEATURES_SOURCE"],
    timestamp_field="event_timestamp",
)

alpha_oscillation_features = FeatureView(
    name="alpha_oscillation_features",
    entities=[episode],
    schema=[
        Field(name="alpha_power", dtype=Float32),
        Field(name="alpha_phase", dtype=Float32),
        Field(name="attention_score", dtype=Float32),
    ],
    source=alpha_oscillation_data_source,
    ttl=timedelta(days=int(os.environ.get("EMILY_FEATURES_TTL_DAYS", "30"))),
    online=True,
)
