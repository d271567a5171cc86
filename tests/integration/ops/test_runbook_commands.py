"""Every command in every runbook runs, in a fresh EMILY_HOME, and exits as the runbook says.

Commands run in document order (runbooks sorted by name) in one shared home, from the repository
root with the project's .venv first on PATH, so a runbook cannot name a command or an option
that does not exist. A plain ``emily ...`` line runs in a process of its own forked warm
(``_support.cli.run_emily``, the arguments split as bash splits them); any other line runs in
bash. A command documented with ``# exits N when ...`` may exit 0 or N.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from _support.cli import run_emily
from emily.ops.knowledge import RunbookCommand, runbook_commands

ROOT = Path(__file__).resolve().parents[3]
RUNBOOKS = sorted((ROOT / "ops" / "runbooks").glob("*.md"))
VARIABLE = re.compile(r"\$(?:(\w+)|\{(\w+)\})")


def _unique() -> list[RunbookCommand]:
    seen: dict[str, RunbookCommand] = {}
    for path in RUNBOOKS:
        for command in runbook_commands(path):
            seen.setdefault(command.command, command)
    return list(seen.values())


COMMANDS = _unique()


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("runbook") / "emily-home"
    home.mkdir()
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "EMILY_HOME": str(home),
        "EMILY_CONFIG": str(home.parent / "no-emily.toml"),
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "COLUMNS": "120",
    }
    # A home in use, as the runbooks assume (`emily backup` refuses an empty one).
    made = run_emily(
        ["run", "--demo", "--limit", "50", "--no-live", "--no-cognition"], env=env, timeout=600
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return env


def _emily_words(command: str, env: dict[str, str]) -> list[str] | None:
    """The arguments of a plain ``emily ...`` line, as bash would pass them, or None when the
    line needs a shell (another program, a pipe, a redirection, a substitution)."""
    if re.search(r"[|;&<>`]|\$\(", command):
        return None
    words = [
        VARIABLE.sub(lambda m: env[m[1] or m[2]], w) for w in shlex.split(command, comments=True)
    ]
    return words[1:] if words and words[0] == "emily" else None


def test_plain_emily_lines_split_as_bash_splits_them() -> None:
    env = {"EMILY_HOME": "/tmp/a home"}
    line = 'emily sample "$EMILY_HOME/g.pt" --json  # exits 1 when ...'
    assert _emily_words(line, env) == ["sample", "/tmp/a home/g.pt", "--json"]
    assert _emily_words('df -h "$EMILY_HOME"', env) is None
    assert _emily_words("emily models list | head", env) is None


def test_runbooks_name_commands() -> None:
    assert len(COMMANDS) >= 10


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"{c.runbook}:{c.command[:40]}")
def test_runbook_command_runs(command: RunbookCommand, shell_env: dict[str, str]) -> None:
    words = _emily_words(command.command, shell_env)
    if words is None:
        proc = subprocess.run(
            ["bash", "-c", command.command],
            cwd=ROOT,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    else:
        proc = run_emily(words, env=shell_env, cwd=ROOT, timeout=600)
    assert proc.returncode in command.allowed_exits, (
        f"{command.runbook}: `{command.command}` exited {proc.returncode} "
        f"(allowed {command.allowed_exits})\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )
