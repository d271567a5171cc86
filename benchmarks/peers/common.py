"""Shared helpers of the GFlowNet benchmarks: the peer venv and running a peer runner in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PEER_VENV = Path(os.environ.get("EMILY_PEER_VENV", ROOT / ".venv-peers"))
PEER_PYTHON = PEER_VENV / "bin" / "python"


def ensure_peer_venv() -> Path:
    """Create the peer venv if missing (idempotent; a few minutes the first time)."""
    if not (PEER_VENV / ".stamp-peers-v4").exists():
        print(f"setting up the peer venv at {PEER_VENV} ...", file=sys.stderr)
        subprocess.run(
            ["bash", str(ROOT / "benchmarks" / "peers" / "setup_peers.sh"), str(PEER_VENV)],
            check=True,
        )
    return PEER_PYTHON


def run_peer(script: str, args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run ``benchmarks/peers/<script>`` in the peer venv; return its last JSON line."""
    python = ensure_peer_venv()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [str(python), str(ROOT / "benchmarks" / "peers" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise RuntimeError(f"peer {script} failed (rc {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def first_reaching(curve: list[dict[str, Any]], key: str, target: float, time_key: str) -> Any:
    """Training time at the first checkpoint whose ``key`` is <= ``target`` (None if never)."""
    for point in curve:
        if point[key] <= target + 1e-12:
            return point[time_key]
    return None
