"""Feast operations for Emily, run by the isolated Feast environment's Python (ADR 0010).

Emily's main environment cannot import Feast (redis-py and pandas pins conflict), so
``emily.ops.features`` runs this script as ``.venv-feast/bin/python runner.py COMMAND --repo DIR``
and reads one JSON document from its stdout. Only Feast, pandas and the standard library are
used here. Commands:

* ``apply``: register the entity and feature views of ``definitions.py`` (copied into DIR).
* ``materialize --start ISO --end ISO`` (or ``--incremental --end ISO``): offline -> online.
* ``get --ids a,b``: ``get_online_features`` for those episodes.
* ``write`` (JSON rows on stdin): ``write_to_online_store``.
* ``bench --ids a,b --calls N``: per-call latency of ``get_online_features`` (one entity).
* ``status``: project, stores and feature views.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import statistics
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

FEATURE_VIEW = "alpha_oscillation_features"
FEATURES = ["alpha_power", "alpha_phase", "attention_score"]


def _store(repo: Path) -> Any:
    from feast import FeatureStore

    return FeatureStore(repo_path=str(repo))


def _definitions(repo: Path) -> list[Any]:
    spec = importlib.util.spec_from_file_location(
        "emily_feast_definitions", repo / "definitions.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {repo / 'definitions.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [module.episode, module.alpha_oscillation_features]


def _refs() -> list[str]:
    return [f"{FEATURE_VIEW}:{name}" for name in FEATURES]


def _get(store: Any, ids: list[str]) -> Any:
    rows = [{"episode_id": i} for i in ids]
    return store.get_online_features(features=_refs(), entity_rows=rows).to_dict()


def cmd_apply(store: Any, repo: Path, args: argparse.Namespace) -> Any:
    objects = _definitions(repo)
    store.apply(objects)
    return {"applied": [o.name for o in objects]}


def cmd_materialize(store: Any, repo: Path, args: argparse.Namespace) -> Any:
    end = datetime.fromisoformat(args.end)
    if args.incremental:
        store.materialize_incremental(end_date=end)
    else:
        store.materialize(start_date=datetime.fromisoformat(args.start), end_date=end)
    return {"materialized": FEATURE_VIEW, "end": args.end, "incremental": args.incremental}


def cmd_get(store: Any, repo: Path, args: argparse.Namespace) -> Any:
    return _get(store, args.ids.split(","))


def cmd_write(store: Any, repo: Path, args: argparse.Namespace) -> Any:
    import pandas as pd

    rows = json.load(sys.stdin)
    frame = pd.DataFrame(rows)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    store.write_to_online_store(FEATURE_VIEW, frame)
    return {"written": len(frame)}


def cmd_bench(store: Any, repo: Path, args: argparse.Namespace) -> Any:
    ids = args.ids.split(",")
    _get(store, ids[:1])  # warm the registry cache and the connection
    samples = []
    for call in range(args.calls):
        started = time.perf_counter()
        _get(store, [ids[call % len(ids)]])
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {
        "calls": len(samples),
        "p50_us": statistics.median(samples) * 1e6,
        "p99_us": samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1e6,
        "mean_us": statistics.fmean(samples) * 1e6,
    }


def cmd_status(store: Any, repo: Path, args: argparse.Namespace) -> Any:
    config = store.config
    return {
        "project": config.project,
        "online_store": config.online_store.type,
        "offline_store": config.offline_store.type,
        "feature_views": sorted(fv.name for fv in store.list_feature_views()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="runner.py")
    parser.add_argument(
        "command", choices=["apply", "materialize", "get", "write", "bench", "status"]
    )
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--ids", default="")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # Feast's deprecation chatter goes to stderr, but is noise
    store = _store(args.repo)
    with contextlib.redirect_stdout(sys.stderr):  # Feast prints progress: keep stdout JSON only
        result = globals()[f"cmd_{args.command}"](store, args.repo, args)
    json.dump(result, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
