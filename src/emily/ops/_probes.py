"""What ``emily doctor`` does to know an engine works: connect to it, or start it, briefly.

Why: a check that only finds a binary or imports a module ticks a server that would not start
and an endpoint that is taken (issue 19). Each probe here does a small part of what the runtime
will do, with every wait bounded: PING a Redis or FalkorDB server (a ``unix://`` URL through its
socket, never TCP), ask FalkorDB for its graphs, connect to PostgreSQL, ask an MLflow server for
its health, open a SQLite file, start a throwaway embedded FalkorDB in a temporary folder, open a
Zenoh session on the bus endpoint.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

PROBE_TIMEOUT_S = 3.0
"""Longest wait for one server to accept a connection or answer one request."""
EMBEDDED_START_TIMEOUT_S = 10.0
"""Longest wait for the throwaway embedded FalkorDB to answer (module load on a busy machine)."""


ZENOH_HANDSHAKE_MS = 1000
"""Longest wait for a Zenoh handshake with whatever listens on the bus endpoint."""


class Outcome(NamedTuple):
    """What a probe found: whether the engine works, and the line that says so (or why not)."""

    ok: bool
    detail: str


def shown(url: str) -> str:
    """``url`` with any password masked, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def redis_server(url: str, *, graph: bool, timeout_s: float = PROBE_TIMEOUT_S) -> Outcome:
    """PING the server at ``url`` (``redis://``, ``rediss://``, ``unix://``); with ``graph``,
    also ``GRAPH.LIST``, which only a server with the FalkorDB module answers."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    where = shown(url)
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        try:
            client.ping()
        except redis.ResponseError as exc:  # it answered, with a refusal (NOAUTH, ...)
            return Outcome(False, f"{where} refuses PING: {_first_line(exc)}")
        except (redis.RedisError, OSError) as exc:
            return Outcome(False, f"{where} does not answer ({_first_line(exc)})")
        if not graph:
            return Outcome(True, f"{where} answers PING")
        try:
            client.execute_command("GRAPH.LIST")  # type: ignore[no-untyped-call]
        except redis.ResponseError as exc:
            return Outcome(False, f"{where} answers but is not FalkorDB ({_first_line(exc)})")
        except (redis.RedisError, OSError) as exc:
            return Outcome(False, f"{where} does not answer GRAPH.LIST ({_first_line(exc)})")
        return Outcome(True, f"{where} answers PING and GRAPH.LIST")
    finally:
        client.close()


def _libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg2://``) as libpq reads it (``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


def postgres_server(
    url: str, *, created_if_missing: bool = False, timeout_s: float = PROBE_TIMEOUT_S
) -> Outcome:
    """Connect to the PostgreSQL database at ``url`` and run ``SELECT 1``.

    ``created_if_missing``: the user (DBOS) creates the database at first launch, so a missing
    database is fine when the server's ``postgres`` database accepts the same credentials.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    where = shown(url)
    conninfo = _libpq_url(url)
    timeout = max(1, round(timeout_s))  # libpq takes whole seconds
    try:
        with psycopg.connect(conninfo, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
        return Outcome(True, f"{where} accepts connections")
    except psycopg.Error as exc:
        database = conninfo_to_dict(conninfo).get("dbname")
        missing = f'database "{database}" does not exist' in str(exc)
        if not (missing and created_if_missing):
            return Outcome(False, f"{where} does not answer ({_first_line(exc)})")
    try:
        with psycopg.connect(make_conninfo(conninfo, dbname="postgres"), connect_timeout=timeout):
            pass
    except psycopg.Error as exc:
        return Outcome(False, f"{where}: database {database} is missing ({_first_line(exc)})")
    return Outcome(True, f"{where} accepts connections (database {database} made at first use)")


def mlflow_server(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> Outcome:
    """GET ``url``/health, which an MLflow tracking server answers with ``OK``.

    Why not a TCP connect: any web server accepts one, and a proxy or another service on the
    configured port would be ticked as the tracking server.
    """
    import urllib.error
    import urllib.request

    where = shown(url)
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout_s) as answer:
            body = answer.read(64).strip()
    except urllib.error.HTTPError as exc:
        return Outcome(False, f"{where} answers HTTP {exc.code} on /health: not an MLflow server")
    except (OSError, ValueError) as exc:
        return Outcome(False, f"{where} does not answer: {_first_line(exc)}")
    if body != b"OK":
        return Outcome(False, f"{where}/health says {body[:20]!r}, not OK: not an MLflow server")
    return Outcome(True, f"{where} is an MLflow server (/health OK)")


def sqlite_file(path: Path) -> Outcome:
    """An existing SQLite file opens read-write and reads; a new one's folder is writable."""
    if not path.exists():
        folder = path.parent
        if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
            return Outcome(True, f"{path} will be created (its folder is writable)")
        return Outcome(False, f"{path} cannot be created: {folder} is not a writable folder")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=PROBE_TIMEOUT_S)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Outcome(False, f"{path} does not open as a writable SQLite database ({exc})")
    if not os.access(path.parent, os.W_OK | os.X_OK):  # SQLite writes its journal beside it
        return Outcome(False, f"{path}'s folder is not writable (SQLite keeps its journal there)")
    return Outcome(True, f"{path} opens read-write")


def embedded_falkordb(timeout_s: float = EMBEDDED_START_TIMEOUT_S) -> Outcome:
    """Start a throwaway embedded FalkorDB in a temporary folder, ask it for its graphs, stop it.

    A throwaway server rather than the home's: starting one proves the binaries and the module
    load on this machine, and leaves the home's server (and its log) untouched.
    """
    from emily.memory import EmbeddedFalkorDB

    with tempfile.TemporaryDirectory(prefix="emily-doctor-") as folder:
        server = EmbeddedFalkorDB(Path(folder), appendfsync="no")
        try:
            address = server.start(timeout_s=timeout_s)
            found = redis_server(f"unix://{address.unix_socket}", graph=True)
        except Exception as exc:  # any failure to start is what the check reports
            return Outcome(False, f"embedded server does not start ({_first_line(exc)})")
        finally:
            server.stop(timeout_s=timeout_s)
    if not found.ok:
        return Outcome(False, f"embedded server started but {found.detail}")
    return Outcome(True, "embedded: a throwaway server started and answered GRAPH.LIST")


def _bounded(probe: Callable[[], Outcome], timeout_s: float, what: str) -> Outcome:
    """``probe()``'s outcome, or a failure if it has not returned within ``timeout_s``.

    For calls with no timeout of their own (a native library's open); the thread is a daemon,
    so one that hangs cannot keep ``emily doctor`` from exiting.
    """
    result: list[Outcome] = []

    def run() -> None:
        try:
            result.append(probe())
        except Exception as exc:  # reported as the check's failure
            result.append(Outcome(False, f"{what} failed ({_first_line(exc)})"))

    worker = threading.Thread(target=run, name=f"doctor-{what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    return result[0] if result else Outcome(False, f"{what} did not finish within {timeout_s:g} s")


def zenoh_endpoint(endpoint: str, timeout_s: float = PROBE_TIMEOUT_S) -> Outcome:
    """Whether the bus can use ``endpoint``: free to listen on, or a Zenoh peer already there.

    ``emily run --bus`` listens on the endpoint and ``emily publish`` connects to it, so both
    a free endpoint and one a running runtime holds are fine; one taken by anything else, or
    not on loopback, is not.
    """
    from emily.core.errors import InputError
    from emily.runtime import zenoh_config

    try:
        listen, connect = zenoh_config(endpoint, "listen"), zenoh_config(endpoint, "connect")
    except InputError as exc:
        return Outcome(False, str(exc))
    # A listener that accepts TCP but never speaks Zenoh holds the handshake (and the session's
    # close) for the transport's open timeout: 10 s by default.
    connect.insert_json5("transport/unicast/open_timeout", str(ZENOH_HANDSHAKE_MS))
    return _bounded(lambda: _zenoh_session(endpoint, listen, connect), timeout_s, "zenoh open")


def _zenoh_session(endpoint: str, listen: Any, connect: Any) -> Outcome:
    import zenoh

    try:
        zenoh.open(listen).close()  # type: ignore[no-untyped-call]
        return Outcome(True, f"{endpoint} is free: a runtime can listen there")
    except zenoh.ZError as exc:
        taken = _first_line(exc).split(" at /")[0]  # Zenoh appends its Rust source locations
    session = zenoh.open(connect)  # peer mode: returns once its first connect attempt ends
    try:
        peers = len(list(session.info.peers_zid()))
    finally:
        session.close()  # type: ignore[no-untyped-call]
    if peers:
        return Outcome(True, f"{endpoint}: a Zenoh peer listens there (a runtime is running)")
    return Outcome(False, f"{endpoint} is taken by something that is not a Zenoh peer ({taken})")
