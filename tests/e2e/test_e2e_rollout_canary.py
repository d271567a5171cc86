"""A canary driven from the CLI through a running ``emily serve`` to its automatic verdict.

Real processes: ``emily train --register`` twice and the ``emily models`` commands (forked warm,
``_support.cli.run_emily``), ``emily serve`` on a free port (the console script),
``emily models canary start`` with SLOs; cognition requests go over HTTP (reflex misses are
offered to cognition) until the server's canary decides, and ``emily models history`` shows it.
This file drives the rollback; the promotion is driven the same way by the installed wheel's
programs in ``test_e2e_wheel_research_loop.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from _support.cli import run_emily
from _support.ports import free_port
from emily.ops.rollout import RolloutStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODEL = "emily-gflownet"


def _emily(*args: str) -> str:
    result = run_emily(
        args,
        cwd=REPO,  # model_cards/ is found from here, as from a clone
        env={**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two registered versions, v1 the champion, and `emily serve` answering over them."""
    for seed in ("0", "1"):
        _emily("train", "--env", "dag", "--demo", "--steps", "20", "--seed", seed, "--json",
               "--out", str(tmp_path / f"g{seed}.pt"), "--register", MODEL)  # fmt: skip
    _emily("models", "promote", MODEL, "1", "--why", "first model")
    port = free_port()
    executable = shutil.which("emily", path=str(Path(sys.executable).parent))
    assert executable is not None
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [executable, "serve", "--port", str(port), "--demo-schema"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz").is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"emily serve never answered:\n{log.read_text()}"
            time.sleep(0.5)
        token = (Path(os.environ["EMILY_HOME"]) / "api-token").read_text().strip()
        yield {"base": base, "token": token, "proc": proc, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drive_until_verdict(served: dict[str, Any], rollout: str) -> dict[str, Any]:
    """Send fresh stimuli (reflex misses go to cognition) until the canary has decided."""
    from emily.runtime.stimuli import demo_dataset, demo_stream

    store = RolloutStore.default()
    headers = {"Authorization": f"Bearer {served['token']}"}
    stream = demo_stream(demo_dataset(), seed=7, noise=0.2)
    ids = count()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert served["proc"].poll() is None, served["log"].read_text()
        state = store.load_state(rollout, "canary")
        assert state is not None
        if state["state"] != "running":
            return state
        stimuli = [
            s.model_copy(update={"id": f"e2e-{next(ids)}", "label": None}).model_dump(mode="json")
            for s in (next(stream) for _ in range(16))
        ]
        response = httpx.post(
            f"{served['base']}/stimuli/batch",
            json={"stimuli": stimuli},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        time.sleep(0.5)
    pytest.fail(f"the canary never decided:\n{served['log'].read_text()[-4000:]}")


def _canary(*slo: str) -> None:
    _emily("models", "canary", "start", MODEL, "2", "--share", "0.5", "--min-samples", "3", *slo)


def test_a_canary_breaking_its_latency_slo_is_rolled_back(served: dict[str, Any]) -> None:
    _canary("--max-p95-ms", "0.001", "--min-diversity", "0")
    state = _drive_until_verdict(served, f"canary:{MODEL}:v2")
    assert state["state"] == "rolled-back", state

    history = json.loads(_emily("models", "history", MODEL, "--json"))
    assert (history[-1]["what"], history[-1]["alias"]) == ("clear-alias", "challenger")
    assert "canary rolled back: SLO broken (p95 latency" in history[-1]["why"]
    listed = json.loads(_emily("models", "list", "--json"))
    assert listed[0]["aliases"] == {"champion": "1"}
    table = _emily("models", "canary", "status", MODEL)
    assert "rolled-back" in table
