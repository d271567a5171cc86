"""Data lineage coverage: every dataset under DVC, every registered model traceable to a run.

Datasets: the outputs ``dvc.yaml`` declares (and any ``*.dvc`` sidecar) are *tracked*; every
file in the data folders (``DATA_DIRS``) must be one of them. Models: every version in the MLflow
registry must name a run that exists, so its parameters, metrics and data are known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from emily.core.settings import EmilySettings
from emily.ops.knowledge._metric import Metric

DATA_DIRS = ("data", "lineage/data", "lineage/models")
"""Folders (relative to the repository root) whose files are datasets or models."""


def _dvc_outs(root: Path) -> set[str]:
    path = root / "dvc.yaml"
    if not path.is_file():
        return set()
    stages = (yaml.safe_load(path.read_text()) or {}).get("stages", {})
    outs: set[str] = set()
    for stage in stages.values():
        for out in stage.get("outs", []):
            outs.add(next(iter(out)) if isinstance(out, dict) else str(out))
    return outs


def dataset_lineage(root: Path) -> Metric:
    """Share of dataset files (and declared outputs) that DVC tracks."""
    tracked = _dvc_outs(root)
    sidecars = [p for p in root.glob("*.dvc") if p.is_file()]
    sidecars += [p for d in DATA_DIRS if (root / d).is_dir() for p in (root / d).rglob("*.dvc")]
    tracked |= {p.relative_to(root).with_suffix("").as_posix() for p in sidecars}
    files = {
        p.relative_to(root).as_posix()
        for folder in DATA_DIRS
        if (root / folder).is_dir()
        for p in (root / folder).rglob("*")
        if p.is_file() and p.suffix != ".dvc" and p.name != ".gitignore"
    }
    every = files | tracked
    covered = {f for f in every if f in tracked or any(f.startswith(t + "/") for t in tracked)}
    missing = sorted(every - covered)
    share = 100.0 * len(covered) / len(every) if every else 100.0
    return Metric(
        name="data lineage (datasets)",
        value=f"{len(covered)}/{len(every)} under DVC ({share:.0f} %)",
        target="100 %",
        status="ok" if not missing else "failing",
        detail=("untracked: " + ", ".join(missing[:5]))
        if missing
        else "every dataset file is a DVC output",
        measure="dvc status (dvc repro re-creates the outputs)",
    )


def model_lineage(settings: EmilySettings) -> Metric:
    """Share of registered model versions whose MLflow run exists."""
    from emily.ops.tracking import make_client, tracking_config

    client: Any = make_client(tracking_config(settings))
    versions = list(client.search_model_versions())
    with_run = 0
    orphans: list[str] = []
    for v in versions:
        try:
            ok = bool(v.run_id) and client.get_run(v.run_id) is not None
        except Exception:  # MLflow raises its own error for a deleted or unknown run
            ok = False
        with_run += ok
        if not ok:
            orphans.append(f"{v.name} v{v.version}")
    total = len(versions)
    return Metric(
        name="data lineage (models)",
        value=f"{with_run}/{total} versions with an MLflow run"
        if total
        else "no registered models",
        target="100 %",
        status="ok" if not orphans else "failing",
        detail=("no run: " + ", ".join(orphans[:5])) if orphans else "every version names its run",
        measure="emily models list (emily train --register NAME registers with its run)",
    )
