"""Feast operations for Emily, run by the isolated Feast environment's Python (ADR 0010).

Emily's main environment cannot import Feast (redis-py and pandas pins conflict), so
``emily.ops.features.FeastRunner`` runs this script with ``.venv-feast/bin/python``. Only Feast,
pandas and the standard library are used here. Two modes:

* ``runner.py serve --repo DIR``: what ``FeastRunner`` uses. Feast is imported and the store
  opened once (importing Feast costs seconds of CPU), then the process answers requests until
  its stdin closes: one JSON object a line in, ``{"id", "command", "params"}``, one JSON object a
  line out, ``{"id", "ok": true, "result"}`` or ``{"id", "ok": false, "error": {"type",
  "message", "traceback"}}``. A failed command is answered and the process goes on; a store that
  cannot be opened (Feast missing, a bad ``feature_store.yaml``) is answered once, with
  ``"fatal": true``, and the process exits 1. Only replies go to stdout: file
  descriptor 1 is pointed at stderr, so Feast's own prints (and its progress bars) land there.
* ``runner.py COMMAND --repo DIR [options]``: one command, one JSON document on stdout, for use
  by hand; it exits non-zero with the traceback on stderr when the command fails.

Commands (``params`` in serve mode, options in one-shot mode):

* ``apply``: register the entity and feature views of ``definitions.py`` (copied into DIR).
* ``materialize`` ``{"start", "end"}`` or ``{"incremental": true, "end"}`` (ISO times;
  ``--start ISO --end ISO`` or ``--incremental --end ISO``): offline -> online.
* ``get`` ``{"ids": [...]}`` (``--ids a,b``): ``get_online_features`` for those episodes.
* ``write`` ``{"rows": [...]}`` (JSON rows on stdin): ``write_to_online_store``.
* ``bench`` ``{"ids": [...], "calls": N}`` (``--ids a,b --calls N``): per-call latency of
  ``get_online_features`` (one entity a call).
* ``status``: project, stores and feature views.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

FEATURE_VIEW = "alpha_oscillation_features"
FEATURES = ["alpha_power", "alpha_phase", "attention_score"]
TRACEBACK_LINES = 8  # the tail of a failure's traceback that a reply carries

StoreFactory = Callable[[Path], Any]


def _store(repo: Path) -> Any:
    from feast import FeatureStore

    return FeatureStore(repo_path=str(repo))


def _definitions(repo: Path) -> list[Any]:
    spec = importlib.util.spec_from_file_location(
        "emily_feast_definitions", repo / "definitions.py"
    )
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load {repo / 'definitions.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [module.episode, module.alpha_oscillation_features]


def _refs() -> list[str]:
    return [f"{FEATURE_VIEW}:{name}" for name in FEATURES]


def _get(store: Any, ids: list[str]) -> Any:
    rows = [{"episode_id": i} for i in ids]
    return store.get_online_features(features=_refs(), entity_rows=rows).to_dict()


def _ids(params: dict[str, Any]) -> list[str]:
    ids = params.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise ValueError(f"'ids' must be a non-empty list of episode ids, got {ids!r}")
    return ids


def cmd_apply(store: Any, repo: Path, params: dict[str, Any]) -> Any:
    objects = _definitions(repo)
    store.apply(objects)
    return {"applied": [o.name for o in objects]}


def cmd_materialize(store: Any, repo: Path, params: dict[str, Any]) -> Any:
    end = datetime.fromisoformat(params["end"])
    incremental = bool(params.get("incremental"))
    if incremental:
        store.materialize_incremental(end_date=end)
    else:
        store.materialize(start_date=datetime.fromisoformat(params["start"]), end_date=end)
    return {"materialized": FEATURE_VIEW, "end": params["end"], "incremental": incremental}


def cmd_get(store: Any, repo: Path, params: dict[str, Any]) -> Any:
    return _get(store, _ids(params))


def cmd_write(store: Any, repo: Path, params: dict[str, Any]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(params["rows"])
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    store.write_to_online_store(FEATURE_VIEW, frame)
    return {"written": len(frame)}


def cmd_bench(store: Any, repo: Path, params: dict[str, Any]) -> Any:
    ids = _ids(params)
    _get(store, ids[:1])  # warm the registry cache and the connection
    samples = []
    for call in range(int(params.get("calls", 1000))):
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


def cmd_status(store: Any, repo: Path, params: dict[str, Any]) -> Any:
    config = store.config
    return {
        "project": config.project,
        "online_store": config.online_store.type,
        "offline_store": config.offline_store.type,
        "feature_views": sorted(fv.name for fv in store.list_feature_views()),
    }


COMMANDS: dict[str, Callable[[Any, Path, dict[str, Any]], Any]] = {
    "apply": cmd_apply,
    "materialize": cmd_materialize,
    "get": cmd_get,
    "write": cmd_write,
    "bench": cmd_bench,
    "status": cmd_status,
}


def run_command(store: Any, repo: Path, command: str, params: dict[str, Any]) -> Any:
    """Run one command; Feast's prints go to stderr so that stdout carries JSON only."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {sorted(COMMANDS)}")
    with contextlib.redirect_stdout(sys.stderr):
        return COMMANDS[command](store, repo, params)


def _error(exc: BaseException) -> dict[str, str]:
    lines = "".join(traceback.format_exception(exc)).strip().splitlines()
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "\n".join(lines[-TRACEBACK_LINES:]),
    }


def _reply(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, default=str) + "\n")
    out.flush()


def serve(
    repo: Path, requests: TextIO, replies: TextIO, store_factory: StoreFactory = _store
) -> int:
    """Answer requests (one JSON line each) until ``requests`` ends; the exit status to use."""
    try:
        store = store_factory(repo)
    except Exception as exc:  # Feast missing or the repo unreadable: say so to the first request
        failure = _error(exc)
        for line in requests:
            if line.strip():
                reply = {"id": _request_id(line), "ok": False, "fatal": True, "error": failure}
                _reply(replies, reply)
                break
        return 1
    for line in requests:
        if not line.strip():
            continue
        request_id = _request_id(line)
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError(f"a request must be a JSON object, got {line.strip()[:80]!r}")
            params = request.get("params") or {}
            result = run_command(store, repo, str(request.get("command")), params)
        except (Exception, SystemExit) as exc:
            _reply(replies, {"id": request_id, "ok": False, "error": _error(exc)})
        else:
            _reply(replies, {"id": request_id, "ok": True, "result": result})
    return 0


def _request_id(line: str) -> Any:
    with contextlib.suppress(ValueError, AttributeError):
        return json.loads(line).get("id")
    return None


def _serve_on_stdio(repo: Path, store_factory: StoreFactory) -> int:
    """Serve on stdin/stdout, with file descriptor 1 pointed at stderr (see the module doc)."""
    sys.stdout.flush()
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else written to stdout, even below Python, goes to stderr
    try:
        return serve(repo, sys.stdin, replies, store_factory)
    finally:
        replies.close()


def _one_shot_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"start": args.start, "end": args.end}
    params["incremental"] = args.incremental
    params["ids"] = [i for i in args.ids.split(",") if i]
    params["calls"] = args.calls
    if args.command == "write":
        params["rows"] = json.load(sys.stdin)
    return params


def main(argv: list[str] | None = None, store_factory: StoreFactory = _store) -> int:
    parser = argparse.ArgumentParser(prog="runner.py")
    parser.add_argument("command", choices=["serve", *COMMANDS])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--ids", default="")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # Feast's deprecation chatter goes to stderr, but is noise
    if args.command == "serve":
        return _serve_on_stdio(args.repo, store_factory)
    result = run_command(store_factory(args.repo), args.repo, args.command, _one_shot_params(args))
    json.dump(result, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
