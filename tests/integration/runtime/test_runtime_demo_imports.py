"""``emily run --demo`` streams sooner: what its stream needs imports no engine it does not use
(issue 18).

The journal imports ``emily.memory.episodic``; an eager ``emily.memory`` package loaded
consolidation's DBOS and SQLAlchemy (and semantic memory's LanceDB) with it, and the demo data
came from ``sklearn.datasets`` (scikit-learn, SciPy, joblib): together seconds of start-up before
the first stimulus, more on a loaded machine. Each check runs in a fresh interpreter, since this
test process has imported everything long ago. LanceDB is not judged: the reflex store needs it.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

UNUSED = (
    "dbos", "sqlalchemy", "psycopg", "sklearn", "scipy", "joblib", "prefect", "falkordb", "redis",
)  # fmt: skip
"""Top-level packages the demo does not use before its stream starts (the graph clients load
in the journal's writer process only)."""

DEMO_PATH = """
import json, sys
import emily.runtime.journal, emily.runtime.stimuli
dataset = emily.runtime.stimuli.demo_dataset()
assert len(dataset.rows) == 178, len(dataset.rows)
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def test_journal_and_demo_data_load_no_unused_engine() -> None:
    modules = _modules_after(DEMO_PATH)
    loaded = sorted({m.split(".")[0] for m in modules} & set(UNUSED))
    assert loaded == []
    assert "emily.memory.consolidation" not in modules
    assert "emily.memory.semantic" not in modules


LAZY_PACKAGES = (
    "emily.cognition", "emily.cognition.envs", "emily.instinct", "emily.memory",
    "emily.nervous_system", "emily.runtime", "emily.ops.backup", "emily.ops.features",
    "emily.ops.flags", "emily.ops.knowledge", "emily.ops.lineage", "emily.ops.registry",
    "emily.ops.rollout", "emily.ops.tracking",
)  # fmt: skip


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_package_names_resolve_lazily_to_their_homes(name: str) -> None:
    """Every public name of a tier's package still imports from the package, as the object its
    private module defines; an unknown name is an ``AttributeError``, and a submodule still
    imports."""
    package = importlib.import_module(name)
    homes = {n: module for module, names in package._HOMES.items() for n in names}
    assert set(homes) <= set(package.__all__)
    for public in package.__all__:
        value = getattr(package, public)
        if public in homes:
            assert value is getattr(sys.modules[homes[public]], public), public
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = package.no_such_name
    first_home = next(iter(package._HOMES))
    assert importlib.import_module(first_home).__name__ == first_home


DIR_LISTS_PUBLIC_NAMES = """
import importlib, json, sys
missing = {}
for name in sys.argv[1:]:
    package = importlib.import_module(name)  # before any public name is touched
    missing[name] = sorted(set(package.__all__) - set(dir(package)))
print(json.dumps(missing))
"""


def test_dir_lists_the_lazy_public_names_before_their_first_use() -> None:
    """``dir()`` (tab completion, ``help()``) shows what an eager package showed, in a fresh
    interpreter where no public name has been imported yet."""
    result = subprocess.run(
        [sys.executable, "-c", DIR_LISTS_PUBLIC_NAMES, *LAZY_PACKAGES],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    missing = json.loads(result.stdout.strip().splitlines()[-1])
    assert missing == {name: [] for name in LAZY_PACKAGES}
