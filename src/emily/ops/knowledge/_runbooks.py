"""The commands and sections of a runbook, read the way an operator reads it.

Why this exists: a runbook whose commands no longer exist is worse than none, so a test runs
every command found in a runbook's ````bash`` blocks (one command per line). A command that is
expected to fail in some state says so with a trailing comment, ``# exits 1 when ...``, and is
then allowed that exit status as well as 0.
"""

from __future__ import annotations

import re
from pathlib import Path

from emily.core import SovereignModel

REQUIRED_SECTIONS = ("Symptoms", "Diagnosis", "Resolution", "Prevention")
"""The ``##`` sections every runbook has, in this order."""

_BLOCK = re.compile(r"^```bash[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_EXITS = re.compile(r"#\s*exits\s+(\d+)\s+when\b")
_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)


class RunbookCommand(SovereignModel):
    """One command of a runbook and the exit statuses it may end with.

    Attributes:
        runbook: File name of the runbook.
        command: The shell command line (comment kept, the shell ignores it).
        allowed_exits: 0, plus the status a ``# exits N when ...`` comment documents.
    """

    runbook: str
    command: str
    allowed_exits: tuple[int, ...]


def runbook_commands(path: Path) -> list[RunbookCommand]:
    """Every non-empty, non-comment line of every ````bash`` block in ``path``, in order."""
    out: list[RunbookCommand] = []
    for block in _BLOCK.finditer(path.read_text(encoding="utf-8")):
        for raw in block.group(1).splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            documented = _EXITS.search(line)
            exits = (0, int(documented.group(1))) if documented else (0,)
            out.append(RunbookCommand(runbook=path.name, command=line, allowed_exits=exits))
    return out


def runbook_sections(path: Path) -> list[str]:
    """The ``##`` headings of a runbook, in order."""
    return _SECTION.findall(path.read_text(encoding="utf-8"))
