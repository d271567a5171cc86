"""Chaos: the tracking database (MLflow on PostgreSQL) goes away in the middle of a training run.

MLflow talks to a fresh PostgreSQL database through a loopback TCP proxy owned by the test; the
proxy is cut (every connection reset, new ones refused) while a tracked training is logging its
per-step metrics, then restored. Expected (runbook "tracking database down"): the tracked run
fails loudly instead of training on untracked; every run and metric committed before the outage
is intact once the database is back; tracking works again without a restart of the process.

Needs PostgreSQL at 127.0.0.1:5432 (db ``test``, trust): skipped without it, except under
``CI=true`` where a missing server fails the test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from _support.ports import free_port
from emily.core import EmilyError
from emily.ops.tracking import (
    TrackingConfig,
    TrackingUnavailableError,
    TrainingOutput,
    make_client,
    track_training,
)

SERVER = "postgresql://postgres@127.0.0.1:5432/test"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


class CuttableProxy:
    """A loopback TCP proxy to PostgreSQL that can be cut (resets, refusals) and restored."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._socks: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and reset every open one: the database is gone."""
        with self._lock:
            listener, self._listener = self._listener, None
            socks, self._socks = self._socks, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def tracking_db() -> Iterator[tuple[TrackingConfig, CuttableProxy]]:
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {SERVER} is required under CI=true: {exc}")
        pytest.skip(f"no PostgreSQL at {SERVER}: {exc}")
    name = f"emily_chaos_mlflow_{secrets.token_hex(4)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    proxy = CuttableProxy(("127.0.0.1", 5432))
    proxy.up()
    artifacts = os.path.join(os.environ["EMILY_HOME"], "mlflow", "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    config = TrackingConfig(
        tracking_uri=f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/{name}",
        artifact_root=f"file://{artifacts}",
    )
    try:
        yield config, proxy
    finally:
        proxy.down()
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _trainer(steps: int, at_step: Callable[[int], None] | None = None) -> Callable[..., object]:
    def train(callback: Callable[..., None]) -> TrainingOutput:
        for step in range(steps):
            if at_step is not None:
                at_step(step)
            callback(step, {"loss": 1.0 / (step + 1)})
        return TrainingOutput(model=None, hypotheses=["a", "b", "a"])

    return train


def _losses(config: TrackingConfig, run_id: str) -> list[tuple[int, float]]:
    client = make_client(config)
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, "loss"))


def test_tracking_database_down_mid_run_loses_nothing_and_recovers(
    tracking_db: tuple[TrackingConfig, CuttableProxy],
) -> None:
    config, proxy = tracking_db
    before = track_training(_trainer(5), {"lr": 0.1}, run_name="before", config=config)
    history = _losses(config, before.run_id)
    assert [s for s, _ in history] == [0, 1, 2, 3, 4]

    def cut_at_three(step: int) -> None:
        if step == 3:
            proxy.down()  # chaos: the database disappears mid-run

    with pytest.raises(TrackingUnavailableError) as failure:
        track_training(_trainer(8, cut_at_three), {"lr": 0.2}, run_name="cut", config=config)
    cause = str(failure.value.__cause__).lower()
    assert "connect" in cause or "closed" in cause

    proxy.up()  # the database is back: same process, no restart
    after = track_training(_trainer(4), {"lr": 0.3}, run_name="after", config=config)
    client = make_client(config)
    assert client.get_run(after.run_id).info.status == "FINISHED"
    assert _losses(config, before.run_id) == history  # nothing committed before was lost
    assert client.get_run(before.run_id).info.status == "FINISHED"
    runs = client.search_runs([before.experiment_id], order_by=["attribute.start_time ASC"])
    names = [r.info.run_name for r in runs]
    assert names == ["before", "cut", "after"]
    cut = runs[1]
    # the interrupted run keeps what it logged before the outage (steps 0-2), no more
    assert [s for s, _ in _losses(config, cut.info.run_id)] == [0, 1, 2]
    assert cut.info.status in ("RUNNING", "FAILED")


def test_tracking_database_down_is_one_clear_error(
    tracking_db: tuple[TrackingConfig, CuttableProxy],
) -> None:
    config, proxy = tracking_db
    track_training(_trainer(2), {}, run_name="warm", config=config)

    def cut(step: int) -> None:
        if step == 1:
            proxy.down()

    with pytest.raises(EmilyError, match=r"tracking store postgresql\S*://.* stopped answering"):
        track_training(_trainer(4, cut), {}, run_name="cut", config=config)
