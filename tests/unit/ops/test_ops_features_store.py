"""Feature store configuration, the direct SQLite online store, the stream writer, latency."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emily.core import ConfigError, InputError, ManualClock
from emily.core.settings import load_settings
from emily.ops.features import (
    FeastRunner,
    FeatureRow,
    FeatureStoreConfig,
    FeatureStoreError,
    FeatureStreamWriter,
    OnlineFeatures,
    SqliteOnlineStore,
    feast_connection_string,
    feature_store_config,
    measure_lookups,
    publish_features,
    render_repo,
)

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
# The table Feast 0.67 creates for a SQLite online store (vector_value unused here).
FEAST_DDL = (
    'CREATE TABLE "{t}" (entity_key BLOB, feature_name TEXT, value BLOB, value_text TEXT, '
    "vector_value BLOB, event_ts timestamp, created_ts timestamp, "
    "PRIMARY KEY(entity_key, feature_name))"
)


def _row(episode: str, power: float = 1.5) -> FeatureRow:
    return FeatureRow(
        episode_id=episode,
        event_timestamp=WHEN,
        alpha_power=power,
        alpha_phase=0.25,
        attention_score=0.75,
    )


@pytest.fixture
def config(tmp_path: Path) -> FeatureStoreConfig:
    cfg = feature_store_config(project="unit_test", source=tmp_path / "features.parquet")
    assert cfg.sqlite_path is not None
    Path(cfg.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(cfg.sqlite_path) as conn:
        conn.execute(FEAST_DDL.format(t=cfg.table))
    return cfg


def test_default_config_is_sqlite_under_home(config: FeatureStoreConfig) -> None:
    home = load_settings().home.resolve()
    assert config.online == "sqlite"
    assert config.table == "unit_test_alpha_oscillation_features"
    assert Path(config.repo_dir).is_relative_to(home)
    assert config.redis_url is None


def test_redis_url_selects_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMILY_REDIS_URL", "redis://127.0.0.1:6379/9")
    cfg = feature_store_config(project="p1")
    assert cfg.online == "redis"
    assert cfg.sqlite_path is None
    repo = render_repo(cfg)
    text = (repo / "feature_store.yaml").read_text()
    assert "127.0.0.1:6379,db=9" in text
    assert "project: p1" in text
    assert (repo / "definitions.py").is_file()


def test_render_sqlite_repo(config: FeatureStoreConfig) -> None:
    text = (render_repo(config) / "feature_store.yaml").read_text()
    assert f"path: {config.sqlite_path}" in text
    assert "type: sqlite" in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost", "localhost:6379,db=0"),
        ("redis://:s3cret@h:7000/3", "h:7000,db=3,password=s3cret"),
        ("rediss://h:1/2", "h:1,db=2,ssl=true"),
    ],
)
def test_feast_connection_string(url: str, expected: str) -> None:
    assert feast_connection_string(url) == expected


@pytest.mark.parametrize("url", ["unix:///tmp/r.sock", "redis://h/x"])
def test_feast_connection_string_rejects(url: str) -> None:
    with pytest.raises(ConfigError, match="EMILY_REDIS_URL"):
        feast_connection_string(url)


def test_bad_project_and_missing_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="project"):
        feature_store_config(project="1-bad")
    monkeypatch.setenv("EMILY_FEAST_INFRA", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="no Feast template"):
        render_repo(feature_store_config(project="p2"))


def test_runner_without_feast_env_says_how_to_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EMILY_FEAST_VENV", str(tmp_path / "no-venv"))
    runner = FeastRunner(feature_store_config(project="p3", source=tmp_path / "f.parquet"))
    with pytest.raises(FeatureStoreError, match=r"setup_feast\.sh"):
        runner.status()
    with pytest.raises(InputError, match="prepare"):
        runner.apply()  # the offline source does not exist
    with pytest.raises(InputError, match="comma-free"):
        runner.get(["a,b"])


def test_sqlite_write_then_read(config: FeatureStoreConfig) -> None:
    with OnlineFeatures(config) as features:
        assert features.put([_row("ep_1"), _row("ep_2", 2.0)]) == 2
        assert features.put([_row("ep_1", 3.0)]) == 1  # upsert: latest wins
        got = features.get(["ep_1", "ep_2", "missing"])
    assert got[0] == {"alpha_power": 3.0, "alpha_phase": 0.25, "attention_score": 0.75}
    assert got[1]["alpha_power"] == 2.0
    assert got[2] == {"alpha_power": None, "alpha_phase": None, "attention_score": None}
    with sqlite3.connect(config.sqlite_path or "") as conn:
        ts, text = conn.execute(
            f'SELECT event_ts, value_text FROM "{config.table}" LIMIT 1'
        ).fetchone()
    assert ts == int(datetime(2026, 1, 1).timestamp())  # Feast's adapter: naive UTC, epoch
    assert text in {"3.0", "0.25", "0.75"}


def test_put_validates_and_get_checks_ids(config: FeatureStoreConfig) -> None:
    with OnlineFeatures(config) as features:
        with pytest.raises(InputError, match="list of strings"):
            features.get("ep_1")
        with pytest.raises(ValueError, match="alpha_power"):
            features.put([{"episode_id": "e", "event_timestamp": WHEN}])
        naive = FeatureRow.model_construct(
            episode_id="e",
            event_timestamp=datetime(2026, 1, 1),
            alpha_power=1.0,
            alpha_phase=1.0,
            attention_score=1.0,
        )
        with pytest.raises(InputError, match="timezone"):
            features.put([naive])
        assert features.put([_row("ep_ok").model_dump()]) == 1


def test_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeatureStoreError, match="materialize"):
        SqliteOnlineStore(str(tmp_path / "empty.db"), "nope")


class FakeBus:
    """An in-process bus: publish calls the matching handlers synchronously."""

    def __init__(self) -> None:
        self.handlers: list[tuple[str, Callable[[str, bytes], None]]] = []

    def subscribe(self, key: str, handler: Callable[[str, bytes], None]) -> None:
        self.handlers.append((key.removesuffix("/**"), handler))

    def publish(self, key: str, payload: bytes) -> None:
        for prefix, handler in self.handlers:
            if key.startswith(prefix):
                handler(key, payload)


class FlakyStore:
    """A store that fails its first write, then records what it gets."""

    def __init__(self) -> None:
        self.rows: list[FeatureRow] = []
        self.fail = True

    def read(self, episode_ids: list[str]) -> list[dict[str, float | None]]:
        return [{} for _ in episode_ids]

    def write(self, rows: list[FeatureRow]) -> int:
        if self.fail:
            self.fail = False
            raise ConnectionError("store down")
        self.rows.extend(rows)
        return len(rows)

    def close(self) -> None:
        pass


def test_stream_batches_into_store(config: FeatureStoreConfig) -> None:
    bus = FakeBus()
    with OnlineFeatures(config) as features:
        store = features._store
        with FeatureStreamWriter(bus, store, batch_size=2, flush_interval_s=60) as writer:
            assert publish_features(bus, _row("ep_a")) == "emily/features/alpha/ep_a"
            assert writer.stats.written == 0  # batch not full yet
            publish_features(bus, _row("ep_b", 2.5))
            assert writer.stats.written == 2
            bus.publish("emily/features/alpha/bad", b"{not json")
            publish_features(bus, _row("ep_c"))
        assert writer.stats.malformed == 1
        assert writer.stats.written == 3  # close() flushed the last one
        assert features.get(["ep_b"])[0]["alpha_power"] == 2.5


def test_stream_keeps_rows_when_store_fails() -> None:
    bus, store = FakeBus(), FlakyStore()
    writer = FeatureStreamWriter(bus, store, batch_size=1, flush_interval_s=60)
    publish_features(bus, _row("ep_x"))
    assert writer.stats.failed_writes == 1
    assert writer.flush() == 1
    assert writer.flush() == 0
    writer.close()
    assert [r.episode_id for r in store.rows] == ["ep_x"]


def test_stream_rejects_bad_arguments() -> None:
    with pytest.raises(InputError, match="batch_size"):
        FeatureStreamWriter(FakeBus(), FlakyStore(), batch_size=0)
    with pytest.raises(InputError, match="bus key"):
        publish_features(FakeBus(), _row("a/b"))


def test_periodic_flush_writes_without_a_full_batch() -> None:
    bus, store = FakeBus(), FlakyStore()
    store.fail = False
    writer = FeatureStreamWriter(bus, store, batch_size=100, flush_interval_s=0.01)
    publish_features(bus, _row("ep_t"))
    writer._stop.wait(0.5)  # several flush periods
    writer.close()
    assert [r.episode_id for r in store.rows] == ["ep_t"]


def test_latency_report_on_manual_clock(config: FeatureStoreConfig) -> None:
    with OnlineFeatures(config) as features:
        features.put([_row("ep_1")])
        report = measure_lookups(features, ["ep_1"], calls=10, clock=ManualClock())
        assert report.path == "direct-sqlite"
        assert report.calls == 10
        assert report.p50_us == 0.0  # a manual clock does not move during a lookup
        with pytest.raises(InputError, match="calls"):
            measure_lookups(features, [], calls=1)


def test_feast_failure_messages_name_the_command() -> None:
    from emily.ops.features._feast import _describe

    error = {"type": "ValueError", "message": "bad", "traceback": "  File x\nValueError: bad"}
    assert _describe("get", error) == "feast get failed (ValueError):\n  File x\nValueError: bad"
    assert _describe("get", {"type": "KeyError", "message": "'end'"}).endswith("KeyError: 'end'")
    assert "gave no reason" in _describe("status", None)
