"""``emily run --demo`` streams sooner: what its stream needs imports no engine it does not use
(issue 18).

The journal imports ``emily.memory.episodic``; an eager ``emily.memory`` package loaded
consolidation's DBOS and SQLAlchemy (and semantic memory's LanceDB) with it, and the demo data
came from ``sklearn.datasets`` (scikit-learn, SciPy, joblib): together seconds of start-up before
the first stimulus, more on a loaded machine. Each check runs in a fresh interpreter, since this
test process has imported everything long ago. LanceDB is not judged: the reflex store needs it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import emily.memory

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


def test_memory_package_names_resolve_lazily_to_their_homes() -> None:
    """Every public name of ``emily.memory`` still imports from the package, as the object its
    module defines; an unknown name is an ``AttributeError``, and a submodule still imports."""
    homes = emily.memory._HOME_OF
    assert sorted(homes) == sorted(emily.memory.__all__)
    for name, module in homes.items():
        assert getattr(emily.memory, name) is getattr(sys.modules[module], name), name
    assert set(emily.memory.__all__) <= set(dir(emily.memory))
    with pytest.raises(AttributeError):
        _ = emily.memory.no_such_name  # type: ignore[attr-defined]
    from emily.memory import etl  # a submodule is still found (the hook says "no attribute")

    assert etl.__name__ == "emily.memory.etl"
