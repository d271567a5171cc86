"""``FeastRunner``'s runner process: reuse, errors, restarts, time-outs and stopping.

The runner script here is the packaged ``runner.py`` (its ``main``, hence its request loop and
stdout handling) with a stand-in for Feast's store, run by this environment's Python: starting it
takes a fraction of a second where Feast's import takes several, and it can crash or hang on
demand. Real Feast behind the same protocol is exercised by ``test_ops_feast_sqlite.py`` and
``test_ops_feast_redis.py``.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from emily._data import data_path
from emily.core import ManualClock
from emily.ops.features import (
    FeastRunner,
    FeatureStoreConfig,
    FeatureStoreError,
    feature_store_config,
)

FAKE_RUNNER = """
import importlib.util, os, sys, time
from types import SimpleNamespace

spec = importlib.util.spec_from_file_location("emily_feast_runner", {runner!r})
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)


class Store:
    config = SimpleNamespace(
        project=os.environ.get("FAKE_FEAST_PROJECT", "fake"),
        online_store=SimpleNamespace(type="sqlite"),
        offline_store=SimpleNamespace(type="file"),
    )

    def list_feature_views(self):
        return []

    def get_online_features(self, features, entity_rows):
        ids = [row["episode_id"] for row in entity_rows]
        print("progress: looking up", ids)  # Python-level noise on stdout
        os.write(1, b"raw noise on fd 1\\n")  # and below Python
        if "crash" in ids:
            sys.stderr.write("fake feast: about to crash\\n")
            sys.stderr.flush()
            os._exit(3)
        if "hang" in ids:
            time.sleep(300)
        if "boom" in ids:
            raise RuntimeError("online store unreachable")
        columns = {{"episode_id": ids, "pid": [os.getpid()] * len(ids)}}
        return SimpleNamespace(to_dict=lambda: columns)


def store_factory(repo):
    if os.environ.get("FAKE_FEAST_BROKEN"):
        raise ModuleNotFoundError("No module named 'feast'")
    return Store()


sys.exit(runner.main(store_factory=store_factory))
"""


@pytest.fixture
def config(tmp_path: Path) -> FeatureStoreConfig:
    """A store whose runner script is the fake above, run by this interpreter."""
    infra = tmp_path / "infra"
    shutil.copytree(data_path("feature_store"), infra)
    runner = data_path("feature_store", "runner.py")
    (infra / "runner.py").write_text(FAKE_RUNNER.format(runner=str(runner)))
    base = feature_store_config(project="proto", source=tmp_path / "f.parquet")
    return base.model_copy(update={"infra_dir": str(infra), "feast_python": sys.executable})


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll with real waits (a killed process needs wall time); the count runs on a manual clock."""
    done, clock = threading.Event(), ManualClock()
    while clock.monotonic() < timeout_s:
        if condition():
            return True
        done.wait(0.01)
        clock.advance(0.01)
    return condition()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_one_process_serves_every_call_until_closed(config: FeatureStoreConfig) -> None:
    with FeastRunner(config) as feast:
        assert feast.pid is None  # started lazily, by the first call
        assert feast.status()["project"] == "fake"
        pid = feast.pid
        assert pid is not None
        for ids in (["a"], ["b", "c"]):
            columns = feast.get(ids)  # the noise on stdout did not disturb the replies
            assert columns == {"episode_id": ids, "pid": [pid] * len(ids)}
        assert feast.pid == pid
    assert feast.pid is None
    assert _gone(pid)  # stopped and reaped by close()
    feast.close()  # idempotent


def test_command_errors_keep_the_process(config: FeatureStoreConfig) -> None:
    with FeastRunner(config) as feast:
        with pytest.raises(FeatureStoreError, match=r"feast get failed \(RuntimeError\)") as err:
            feast.get(["boom"])
        assert str(err.value).splitlines()[-1] == "RuntimeError: online store unreachable"
        pid = feast.pid
        assert feast.get(["a"])["pid"] == [pid]
        with pytest.raises(FeatureStoreError, match="unknown command"):
            feast._run("drop")
        assert feast.pid == pid


def test_a_runner_killed_between_calls_is_replaced(
    config: FeatureStoreConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with FeastRunner(config) as feast:
        feast.status()
        first = feast.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert _until(lambda: feast.pid is None)
        with caplog.at_level(logging.WARNING, logger="emily.ops.features._feast"):
            columns = feast.get(["a"])
        assert columns["pid"] != [first]
        assert columns["pid"] == [feast.pid]
        assert f"the Feast runner (pid {first}) had exited (status -9)" in caplog.text


def test_a_runner_that_dies_during_a_call_is_reported(config: FeatureStoreConfig) -> None:
    with FeastRunner(config) as feast:
        with pytest.raises(FeatureStoreError) as err:
            feast.get(["crash"])
        message = str(err.value)
        assert message.startswith("feast get failed: the Feast runner (pid ")
        assert "exited (status 3) during the call" in message
        assert "fake feast: about to crash" in message  # the end of its stderr
        assert feast.pid is None
        assert feast.get(["a"])["pid"] == [feast.pid]  # the next call starts a new one


def test_a_call_past_its_timeout_stops_the_runner(config: FeatureStoreConfig) -> None:
    with FeastRunner(config, timeout_s=60.0) as feast:
        feast.status()
        hung = feast.pid
        assert hung is not None
        feast.timeout_s = 0.2
        with pytest.raises(FeatureStoreError, match=r"feast get timed out after 0\.2 s"):
            feast.get(["hang"])
        assert _gone(hung)
        feast.timeout_s = 60.0
        assert feast.get(["a"])["pid"] == [feast.pid]


def test_a_store_that_cannot_open_is_reported_every_call(
    config: FeatureStoreConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FEAST_BROKEN", "1")
    with FeastRunner(config) as feast:
        for _ in range(2):
            with pytest.raises(FeatureStoreError, match="feast status failed") as err:
                feast.status()
            assert "No module named 'feast'" in str(err.value)
            assert feast.pid is None  # the process that could not open the store was stopped


def test_an_unclosed_runner_stops_its_process_when_collected(
    config: FeatureStoreConfig,
) -> None:
    feast = FeastRunner(config)
    feast.status()
    pid = feast.pid
    assert pid is not None
    del feast
    gc.collect()
    assert _gone(pid)
