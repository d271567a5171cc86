"""A fast ``emily``: the CLI imports no heavy engine until a command runs (issue #19 item 3).

``emily --help``, ``emily version`` and ``emily COMMAND --help`` must start in well under a
second, so importing the app and printing any help may not load torch, MLflow, LanceDB, the
API stack, pandas or NumPy: those belong to the commands that use them. Each check runs in a
fresh interpreter, since this test process has imported everything long ago. Timings are the
``benchmarks/startup.py`` benchmark's job; here only which modules got loaded is judged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

HEAVY = (
    "torch",
    "mlflow",
    "lancedb",
    "lance",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "pandas",
    "numpy",
    "pyarrow",
    "scipy",
    "sklearn",
    "matplotlib",
    "prefect",
    "dbos",
    "sqlalchemy",
    "falkordb",
    "redis",
    "zenoh",
    "feast",
    "sentence_transformers",
)
"""Top-level packages no help page may load (each costs 0.1 s to seconds, or a server's worth
of memory)."""

COMMANDS = {
    "version", "doctor", "run", "publish", "learn", "eval", "ui", "backup", "restore",
    "serve", "ask", "report", "init", "sleep", "ingest", "train", "sample", "schema",
    "models", "flags", "features", "remediation", "migrate", "reflexes",
}  # fmt: skip
"""Every top-level command and group of ``emily`` (a lazy listing must not drop one)."""

HELP_EVERYWHERE = """
import json, sys
import typer
from typer.testing import CliRunner
from emily.cli.app import app

def paths(command, prefix):
    yield prefix
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            yield from paths(command.get_command(ctx, name), [*prefix, name])

root = typer.main.get_command(app)
failed = {}
for path in list(paths(root, [])):
    result = CliRunner().invoke(app, [*path, "--help"])
    if result.exit_code != 0:
        failed[" ".join(path)] = result.output[-300:]
print(json.dumps({"modules": sorted(sys.modules), "failed": failed}))
"""


def _loaded(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_app_loads_no_heavy_engine() -> None:
    code = "import json, sys, emily.cli.app; print(json.dumps([*sys.modules]))"
    modules = json.loads(_python(code))
    assert _loaded(modules) == []


def test_every_help_page_loads_no_heavy_engine() -> None:
    """``emily X --help`` for every command and subcommand, all in one fresh process."""
    report = json.loads(_python(HELP_EVERYWHERE))
    assert report["failed"] == {}
    assert _loaded(report["modules"]) == []


def test_help_lists_every_command() -> None:
    executable = shutil.which("emily", path=str(Path(sys.executable).parent))
    assert executable is not None, "the emily console script is not installed in this venv"
    result = subprocess.run(
        [executable, "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    listed = {
        line.strip("│ ").split()[0]
        for line in result.stdout.split("Commands")[1].splitlines()
        if line.startswith("│ ") and line[2] != " "
    }
    assert listed == COMMANDS


def test_light_option_defaults_equal_the_values_they_stand_for() -> None:
    """``--help`` shows the light copies; a run uses the originals: they must not drift."""
    from emily.cli import _option_defaults as light
    from emily.instinct import DEFAULT_PER_CLASS
    from emily.ops.features import DEFAULT_PROJECT
    from emily.runtime import reflex_models, stimuli, timeline, validate_input

    assert get_args(light.ModelKind) == get_args(reflex_models.ModelKind)
    assert get_args(light.OnError) == get_args(validate_input.OnError)
    assert light.DEFAULT_FILE_RATE == timeline.DEFAULT_FILE_RATE
    assert light.DEFAULT_PER_CLASS == DEFAULT_PER_CLASS
    assert light.LABEL == stimuli.LABEL
    assert light.DEFAULT_PROJECT == DEFAULT_PROJECT
