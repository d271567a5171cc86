"""House rule (the temporal lock): agent code never reads the clock directly.

Every read of time goes through an injected ``emily.core.Clock`` so any run can be replayed with a
``ManualClock``. Only ``src/emily/core/clock.py`` may call the system clock; files under
``src/emily/_data/`` are package data run by other interpreters, not agent code.

Usage: ``python scripts/check_temporal_lock.py [PATH ...]`` (default: ``src``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from _ast_check import Violation, run

ALLOWED_SUFFIX = "src/emily/core/clock.py"
PACKAGE_DATA = "src/emily/_data/"
"""Files shipped for other interpreters (the Feast venv runs ``feature_store/runner.py``, which
cannot import emily): package data, not agent code, so not bound by the lock."""
TIME_FUNCTIONS = {
    "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
    "process_time", "process_time_ns", "localtime", "gmtime", "ctime", "asctime",
}  # fmt: skip
DATETIME_METHODS = {"now", "utcnow", "today", "fromtimestamp"}
DATETIME_CLASSES = {"datetime", "date"}


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Map local names to what they denote: ``time``, ``time.<fn>``, ``datetime.<cls>``."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in {"time", "datetime"}:
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module in {"time", "datetime"}:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _clock_read(call: ast.Call, names: dict[str, str]) -> str | None:
    """The clock function a call reads, or ``None`` if it reads no clock."""
    func = call.func
    if isinstance(func, ast.Name):
        target = names.get(func.id, "")
        if target.startswith("time.") and target.removeprefix("time.") in TIME_FUNCTIONS:
            return target
        return None
    if not isinstance(func, ast.Attribute):
        return None
    owner = func.value
    if isinstance(owner, ast.Name):
        target = names.get(owner.id, "")
        if target == "time" and func.attr in TIME_FUNCTIONS:
            return f"time.{func.attr}"
        if target in {"datetime.datetime", "datetime.date"} and func.attr in DATETIME_METHODS:
            return f"{target}.{func.attr}"
    if (
        isinstance(owner, ast.Attribute)
        and isinstance(owner.value, ast.Name)
        and names.get(owner.value.id) == "datetime"
        and owner.attr in DATETIME_CLASSES
        and func.attr in DATETIME_METHODS
    ):
        return f"datetime.{owner.attr}.{func.attr}"
    return None


def check(path: Path, tree: ast.Module) -> list[Violation]:
    where = path.resolve().as_posix()
    if where.endswith(ALLOWED_SUFFIX) or PACKAGE_DATA in where:
        return []
    names = _imported_names(tree)
    return [
        Violation(
            path,
            node.lineno,
            f"direct clock read {target}(); take an injected emily.core.Clock instead",
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and (target := _clock_read(node, names))
    ]


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], ["src"], check, "temporal lock"))
