"""``runner.py``'s request loop and one-shot mode, in process, on a stand-in for Feast's store.

The script runs under the Feast environment's Python in production; its protocol code uses only
the standard library, so it is loaded here from the package data and driven with in-memory
streams (``write`` needs pandas, so real Feast tests it). ``test_ops_feast_protocol.py`` runs
it as a real process behind ``FeastRunner``; ``test_ops_feast_sqlite.py`` and
``test_ops_feast_redis.py`` with real Feast.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from emily._data import data_path


def _load_runner() -> ModuleType:
    path = data_path("feature_store", "runner.py")
    spec = importlib.util.spec_from_file_location("emily_feast_runner_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


class FakeStore:
    """What the runner asks of ``feast.FeatureStore``, recorded; ``boom`` ids fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.config = SimpleNamespace(
            project="p",
            online_store=SimpleNamespace(type="sqlite"),
            offline_store=SimpleNamespace(type="file"),
        )

    def get_online_features(self, features: list[str], entity_rows: list[dict[str, str]]) -> Any:
        ids = [row["episode_id"] for row in entity_rows]
        if "boom" in ids:
            raise RuntimeError("online store unreachable")
        print("feast chatter")  # must not reach the replies
        columns = {ref.split(":")[1]: [1.0] * len(ids) for ref in features}
        return SimpleNamespace(to_dict=lambda: {"episode_id": ids, **columns})

    def apply(self, objects: list[Any]) -> None:
        self.calls.append(("apply", [o.name for o in objects]))

    def materialize(self, start_date: Any, end_date: Any) -> None:
        self.calls.append(("materialize", start_date.isoformat(), end_date.isoformat()))

    def materialize_incremental(self, end_date: Any) -> None:
        self.calls.append(("incremental", end_date.isoformat()))

    def list_feature_views(self) -> list[Any]:
        return [SimpleNamespace(name="alpha_oscillation_features")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repo whose ``definitions.py`` defines the two objects without importing Feast."""
    (tmp_path / "definitions.py").write_text(
        "from types import SimpleNamespace\n"
        "episode = SimpleNamespace(name='episode')\n"
        "alpha_oscillation_features = SimpleNamespace(name='alpha_oscillation_features')\n"
    )
    return tmp_path


def _serve(repo: Path, requests: list[Any], factory: Any) -> tuple[int, list[dict[str, Any]]]:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    out = io.StringIO()
    code = runner.serve(repo, io.StringIO("\n".join(lines) + "\n"), out, factory)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_serve_answers_each_request_on_one_store(repo: Path) -> None:
    stores: list[FakeStore] = []

    def factory(path: Path) -> FakeStore:
        assert path == repo
        stores.append(FakeStore())
        return stores[-1]

    window, since_last = {"start": "2025-12-01", "end": "2026-03-01"}, {"end": "2026-03-01"}
    code, replies = _serve(
        repo,
        [
            {"id": 1, "command": "apply"},
            {"id": 2, "command": "materialize", "params": window},
            {"id": 3, "command": "materialize", "params": {**since_last, "incremental": True}},
            "",
            {"id": 4, "command": "get", "params": {"ids": ["a", "b"]}},
            {"id": 5, "command": "bench", "params": {"ids": ["a"], "calls": 3}},
            {"id": 6, "command": "status"},
        ],
        factory,
    )  # fmt: skip
    assert code == 0
    assert len(stores) == 1  # Feast's store is opened once for every request
    assert [r["id"] for r in replies] == [1, 2, 3, 4, 5, 6]
    assert all(r["ok"] for r in replies)
    results = [r["result"] for r in replies]
    assert results[0] == {"applied": ["episode", "alpha_oscillation_features"]}
    assert results[1]["incremental"] is False
    assert results[2] == {
        "materialized": "alpha_oscillation_features", "end": "2026-03-01", "incremental": True,
    }  # fmt: skip
    assert results[3]["episode_id"] == ["a", "b"]
    assert results[3]["alpha_power"] == [1.0, 1.0]
    assert results[4]["calls"] == 3
    assert results[4]["p50_us"] >= 0.0
    assert results[5]["feature_views"] == ["alpha_oscillation_features"]
    assert stores[0].calls == [
        ("apply", ["episode", "alpha_oscillation_features"]),
        ("materialize", "2025-12-01T00:00:00", "2026-03-01T00:00:00"),
        ("incremental", "2026-03-01T00:00:00"),
    ]


def test_serve_answers_failures_and_serves_on(repo: Path) -> None:
    code, replies = _serve(
        repo,
        [
            {"id": 1, "command": "get", "params": {"ids": ["boom"]}},
            "{not json",
            "[1, 2]",
            {"id": 2, "command": "drop_tables"},
            {"id": 3, "command": "get", "params": {"ids": "a,b"}},
            {"id": 4, "command": "materialize", "params": {}},
            {"id": 5, "command": "status"},
        ],
        lambda _repo: FakeStore(),
    )
    assert code == 0
    assert [r["id"] for r in replies] == [1, None, None, 2, 3, 4, 5]
    assert [r["ok"] for r in replies] == [False] * 6 + [True]
    errors = [r["error"] for r in replies[:6]]
    assert errors[0]["type"] == "RuntimeError"
    assert errors[0]["message"] == "online store unreachable"
    assert errors[0]["traceback"].splitlines()[-1] == "RuntimeError: online store unreachable"
    assert len(errors[0]["traceback"].splitlines()) <= runner.TRACEBACK_LINES
    assert errors[1]["type"] == "JSONDecodeError"
    assert "JSON object" in errors[2]["message"]
    assert "unknown command 'drop_tables'" in errors[3]["message"]
    assert "list of episode ids" in errors[4]["message"]
    assert errors[5]["type"] == "KeyError"


def test_serve_reports_a_store_it_cannot_open_once_and_exits(repo: Path) -> None:
    def factory(_repo: Path) -> FakeStore:
        raise ModuleNotFoundError("No module named 'feast'")

    code, replies = _serve(
        repo, ["", {"id": 7, "command": "status"}, {"id": 8, "command": "get"}], factory
    )
    assert code == 1
    assert len(replies) == 1  # the second request is never read
    assert replies[0]["id"] == 7
    assert replies[0]["fatal"] is True
    assert replies[0]["error"]["type"] == "ModuleNotFoundError"
    assert _serve(repo, [], factory) == (1, [])


def test_one_shot_mode_prints_one_json_document(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FakeStore()
    assert runner.main(["get", "--repo", str(repo), "--ids", "a,b"], lambda _r: store) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["episode_id"] == ["a", "b"]
    assert "feast chatter" in out.err  # Feast's prints are kept off stdout
    monkeypatch.setattr("sys.stdin", io.StringIO("[]"))  # rows for write; others ignore stdin
    assert runner.main(["status", "--repo", str(repo)], lambda _r: store) == 0
    assert json.loads(capsys.readouterr().out)["project"] == "p"
    argv = ["materialize", "--repo", str(repo), "--incremental", "--end", "2026-03-01"]
    assert runner.main(argv, lambda _r: store) == 0
    assert json.loads(capsys.readouterr().out)["incremental"] is True
    with pytest.raises(RuntimeError, match="unreachable"):
        runner.main(["get", "--repo", str(repo), "--ids", "boom"], lambda _r: store)
