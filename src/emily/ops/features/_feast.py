"""``FeastRunner``: Feast operations run in the isolated Feast environment, as subprocesses.

Why subprocesses: Feast 0.67 cannot be installed beside the main environment's redis-py 8 and
pandas 3 (ADR 0010). Each call renders the repo, runs the packaged ``feature_store/runner.py`` with
``.venv-feast/bin/python`` and parses the one JSON document it prints. Batch operations
(apply, materialize) pay ~2-10 s of Feast start-up per call, which is fine for them; the
runtime's hot path reads the online store directly (``emily.ops.features.OnlineFeatures``).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from emily.core import EmilyError, InputError
from emily.ops.features._config import FeatureStoreConfig, render_repo


class FeatureStoreError(EmilyError):
    """Feast failed, or its environment is missing; the message says how to fix it."""


class FeastRunner:
    """Runs ``runner.py`` commands for one feature store configuration."""

    def __init__(self, config: FeatureStoreConfig, *, timeout_s: float = 600.0) -> None:
        self.config = config
        self.timeout_s = timeout_s

    def _run(self, command: str, *args: str, stdin: str | None = None) -> Any:
        python = Path(self.config.feast_python)
        if not python.is_file():
            raise FeatureStoreError(
                f"the Feast environment is missing ({python}); create it with "
                "`bash scripts/setup_feast.sh` (ADR 0010)"
            )
        repo = render_repo(self.config)
        runner = Path(self.config.infra_dir) / "runner.py"
        env = {
            **os.environ,
            "EMILY_FEATURES_SOURCE": self.config.source,
            "FEAST_USAGE": "False",  # no telemetry: nothing leaves the machine
            "PYTHONWARNINGS": "ignore",
        }
        proc = subprocess.run(
            [str(python), str(runner), command, "--repo", str(repo), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=self.timeout_s,
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
            raise FeatureStoreError(f"feast {command} failed (exit {proc.returncode}):\n{tail}")
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise FeatureStoreError(f"feast {command} printed no result; stderr: {proc.stderr}")
        return json.loads(lines[-1])

    def apply(self) -> dict[str, Any]:
        """Register the entity and feature views (``feast apply``)."""
        if not Path(self.config.source).is_file():
            raise InputError(
                f"no offline features at {self.config.source}; run `dvc repro prepare` "
                "(or `python -m emily.ops.lineage.prepare`) first"
            )
        result: dict[str, Any] = self._run("apply")
        return result

    def materialize(self, end: datetime, start: datetime | None = None) -> dict[str, Any]:
        """Copy offline features into the online store, incrementally unless ``start`` given."""
        args = ["--end", end.isoformat()]
        args += ["--incremental"] if start is None else ["--start", start.isoformat()]
        result: dict[str, Any] = self._run("materialize", *args)
        return result

    def get(self, episode_ids: Sequence[str]) -> dict[str, list[Any]]:
        """``get_online_features`` through Feast (columns: episode_id and each feature)."""
        result: dict[str, list[Any]] = self._run("get", "--ids", _ids(episode_ids))
        return result

    def write(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """``write_to_online_store`` through Feast (rows with event_timestamp as ISO text)."""
        result: dict[str, Any] = self._run("write", stdin=json.dumps(list(rows), default=str))
        return result

    def bench(self, episode_ids: Sequence[str], calls: int) -> dict[str, float]:
        """Per-call latency of Feast's ``get_online_features``, timed inside the Feast process."""
        result: dict[str, float] = self._run(
            "bench", "--ids", _ids(episode_ids), "--calls", str(calls)
        )
        return result

    def status(self) -> dict[str, Any]:
        """Project, store types and registered feature views."""
        result: dict[str, Any] = self._run("status")
        return result


def _ids(episode_ids: Sequence[str]) -> str:
    if not episode_ids or any("," in i or not i for i in episode_ids):
        raise InputError(f"episode ids must be non-empty and comma-free, got {episode_ids!r}")
    return ",".join(episode_ids)
