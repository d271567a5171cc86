"""Feast 0.67 with the Redis online store (the server at 127.0.0.1:6379).

Isolation: a dedicated database (11) and a project name unique to this run; Feast suffixes
every key with the project, and the module deletes exactly those keys afterwards (never FLUSH*).
The tests share that project and one ``FeastRunner`` (one Feast process).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
import redis

from emily.ops.features import (
    FEATURE_NAMES,
    FeastRunner,
    FeatureRow,
    FeatureStoreConfig,
    OnlineFeatures,
    RedisOnlineStore,
    feature_store_config,
)
from emily.ops.lineage import load_params
from emily.ops.lineage.prepare import alpha_features

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
REDIS_URL = "redis://127.0.0.1:6379/11"
START, END = datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


class RedisStore(NamedTuple):
    config: FeatureStoreConfig
    runner: FeastRunner


@pytest.fixture(scope="module")
def redis_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisStore]:
    """One applied project and one Feast process for the module (Feast's start-up is seconds).

    The tests touch different episodes, so either runs alone or in any order.
    """
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("no Redis at 127.0.0.1:6379: start it with `redis-server --daemonize yes`")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup_feast.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/setup_feast.sh failed; run it by hand to see why:\n{proc.stderr}")
    tmp = tmp_path_factory.mktemp("feast_redis")
    params = load_params(REPO / "params.yaml").prepare.model_copy(
        update={"episodes": 20, "samples_per_episode": 16}
    )
    source = tmp / "alpha_features.parquet"
    alpha_features(params).to_parquet(source, index=False)
    project = f"t_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as env:  # the per-test EMILY_HOME is not set up yet
        env.setenv("EMILY_HOME", str(tmp / "home"))
        env.setenv("EMILY_REDIS_URL", REDIS_URL)
        config = feature_store_config(project=project, source=source)
    try:
        with FeastRunner(config) as runner:
            runner.apply()
            yield RedisStore(config, runner)
    finally:
        keys = list(client.scan_iter(match=b"*" + project.encode()))
        if keys:
            client.delete(*keys)
        assert not list(client.scan_iter(match=b"*" + project.encode()))
        client.close()


def test_feast_redis_materialize_and_direct_reads(redis_store: RedisStore) -> None:
    config, runner = redis_store
    assert config.online == "redis"
    runner.materialize(END, START)
    assert runner.status()["online_store"] == "redis"

    ids = ["ep_000003", "ep_000011", "ep_unknown"]
    columns = runner.get(ids)
    with OnlineFeatures(config) as features:
        direct = features.get(ids)
    table = pd.read_parquet(config.source).set_index("episode_id")
    for i, episode in enumerate(ids):
        for name in FEATURE_NAMES:
            assert direct[i][name] == columns[name][i]
            if episode in table.index:
                assert direct[i][name] == pytest.approx(float(table.loc[episode, name]))
            else:
                assert direct[i][name] is None

    store = RedisOnlineStore(REDIS_URL, config.project)
    try:
        stamp = table.loc["ep_000003", "event_timestamp"]
        assert store.event_time("ep_000003") == stamp.to_pydatetime()
        assert store.event_time("ep_unknown") is None
    finally:
        store.close()


def test_our_redis_writes_are_read_by_feast(redis_store: RedisStore) -> None:
    config, runner = redis_store
    row = FeatureRow(
        episode_id="ep_stream_1",
        event_timestamp=datetime(2026, 2, 1, 12, 0, 0, 250000, tzinfo=UTC),
        alpha_power=1.75,
        alpha_phase=3.0,
        attention_score=0.125,
    )
    with OnlineFeatures(config) as features:
        assert features.put([row]) == 1
    columns = runner.get(["ep_stream_1"])
    assert [columns[name][0] for name in FEATURE_NAMES] == [1.75, 3.0, 0.125]
