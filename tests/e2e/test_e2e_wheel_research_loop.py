"""The research loop as a user of the installed wheel drives it, outside the clone, end to end.

One user, one home, the package installed from its wheel into a fresh venv (the suite's
``wheel_user`` fixture): ``emily init``; ``emily train --register`` twice; ``emily models
promote``; ``emily serve``; ``emily models canary start`` with SLOs; cognition requests over HTTP
until the server's canary promotes the challenger; ``mlflow.pyfunc.load_model`` of the champion
in a fresh process of that venv; ``emily models history``; and the same runs and versions read
through the MLflow UI that ``emily ui`` starts. Every program is the wheel's own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from _support.ports import free_port

if TYPE_CHECKING:
    from conftest import WheelUser

pytestmark = pytest.mark.slow

MODEL = "emily-gflownet"
ROLLOUT = f"canary:{MODEL}:v2"
PREDICT = (  # a fresh process of the wheel's venv: MLflow's own loader, by alias and by version
    "import json, sys, mlflow, pandas as pd\n"
    "request = pd.DataFrame({'n': [48], 'seed': [7]})\n"
    "rows = [mlflow.pyfunc.load_model(uri).predict(request).to_dict(orient='records')\n"
    "        for uri in sys.argv[1:]]\n"
    "print(json.dumps(rows))\n"
)


@contextmanager
def _server(
    user: WheelUser, args: list[str], ready: Callable[[str], bool], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start one of the wheel's long-running commands; yield once ``ready(base)``; stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(user.bin / "emily"), *args],
            cwd=user.cwd,
            env=user.env | {"MLFLOW_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers stop with it
        )
    try:
        deadline = time.monotonic() + 240  # seconds idle; minutes on a loaded 2-core machine
        while not ready(log.read_text(errors="replace")):
            assert proc.poll() is None, f"emily {args[0]} exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, (
                f"no answer from emily {args[0]}:\n{log.read_text()}"
            )
            time.sleep(0.5)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _answers(url: str) -> Callable[[str], bool]:
    def ready(_log: str) -> bool:
        try:
            return httpx.get(url, timeout=5).is_success
        except httpx.HTTPError:
            return False

    return ready


def _canary_state(user: WheelUser) -> dict[str, Any]:
    (status,) = json.loads(user.emily("models", "canary", "status", MODEL, "--json"))
    assert status["id"] == ROLLOUT
    return dict(status)


def _drive_until_verdict(user: WheelUser, base: str, server: subprocess.Popen[bytes]) -> str:
    """Send fresh stimuli (reflex misses go to cognition) until the served canary has decided.

    The wait reads the canary's saved state from the user's rollout database: asking the wheel's
    ``emily models canary status`` each time cost a process (2.2 s) per check, eleven checks a
    run; the command's own answer is checked once the canary has decided.
    """
    from emily.core.settings import EmilySettings
    from emily.ops.rollout import RolloutStore
    from emily.runtime.stimuli import demo_dataset, demo_stream

    store = RolloutStore.default(EmilySettings(home=user.home))
    headers = {"Authorization": f"Bearer {(user.home / 'api-token').read_text().strip()}"}
    stream = demo_stream(demo_dataset(), seed=11, noise=0.2)
    ids = count()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert server.poll() is None, "emily serve exited while the canary ran"
        (saved,) = [r.state for r in store.records() if r.id == ROLLOUT]
        if saved["state"] != "running":
            return str(_canary_state(user)["state"])
        stimuli = [
            s.model_copy(update={"id": f"wheel-{next(ids)}", "label": None}).model_dump(mode="json")
            for s in (next(stream) for _ in range(16))
        ]
        answer = httpx.post(
            f"{base}/stimuli/batch", json={"stimuli": stimuli}, headers=headers, timeout=60
        )
        assert answer.status_code == 200, answer.text
    pytest.fail("the canary never decided")


def test_a_wheel_user_trains_canaries_serves_and_loads_the_champion(
    wheel_user: WheelUser,
) -> None:
    user = wheel_user
    user.emily("init")
    runs = []
    for seed in ("0", "1"):
        out = user.emily("train", "--env", "dag", "--demo", "--steps", "20", "--seed", seed,
                         "--no-progress", "--json", "--register", MODEL)  # fmt: skip
        runs.append(json.loads(out.splitlines()[-1]))
    assert [r["registered"] for r in runs] == [f"{MODEL} v1", f"{MODEL} v2"]
    user.emily("models", "promote", MODEL, "1", "--why", "first model")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port), "--demo-schema"]
    with _server(user, serve, _answers(f"{base}/healthz"), user.cwd / "serve.log") as server:
        user.emily("models", "canary", "start", MODEL, "2", "--share", "0.5",
                   "--min-samples", "3", "--max-p95-ms", "600000", "--min-diversity", "0",
                   "--max-error-rate", "0.5")  # fmt: skip
        assert _drive_until_verdict(user, base, server) == "promoted"
    assert _canary_state(user)["report"]["requests"] >= 3

    history = json.loads(user.emily("models", "history", MODEL, "--json"))
    moves = [(d["what"], d["alias"], d["version"]) for d in history]
    assert moves[:2] == [("register", None, "1"), ("register", None, "2")]
    assert moves[2:4] == [("promote", "champion", "1"), ("promote", "challenger", "2")]
    assert moves[-2] == ("promote", "champion", "2")  # the server's verdict …
    assert "canary met every SLO" in history[-2]["why"]
    assert moves[-1][:2] == ("clear-alias", "challenger")  # … which retires @challenger
    assert json.loads(user.emily("models", "list", "--json"))[0]["aliases"] == {"champion": "2"}

    store = f"sqlite:///{user.home / 'mlflow' / 'mlflow.db'}"  # emily's default tracking store
    mlflow_user = dataclasses.replace(user, env=user.env | {"MLFLOW_TRACKING_URI": store})
    uris = (f"models:/{MODEL}@champion", f"models:/{MODEL}/2")
    loaded = mlflow_user.run("python", "-c", PREDICT, *uris)
    by_alias, by_version = json.loads(loaded.splitlines()[-1])
    assert by_alias == by_version  # @champion is version 2, drawn with the same seed
    assert sum(int(row["count"]) for row in by_alias) == 48
    assert all(isinstance(json.loads(row["hypothesis"]), list) for row in by_alias)

    ui_port = free_port()
    ui = f"http://127.0.0.1:{ui_port}"
    ui_args = ["ui", "--port", str(ui_port)]
    with _server(user, ui_args, _answers(f"{ui}/health"), user.cwd / "ui.log"):
        assert "MLflow" in httpx.get(ui, timeout=30).text  # the UI's own page
        api = f"{ui}/ajax-api/2.0/mlflow"
        model = httpx.get(f"{api}/registered-models/get", params={"name": MODEL}, timeout=30)
        aliases = {a["alias"]: a["version"] for a in model.json()["registered_model"]["aliases"]}
        assert aliases == {"champion": "2"}
        for run in runs:  # the URL train printed names the run the UI holds, by its name
            experiment, run_id = run["run_url"].split("#/experiments/")[1].split("/runs/")
            got = httpx.get(f"{api}/runs/get", params={"run_id": run_id}, timeout=30).json()
            info = got["run"]["info"]
            assert (info["experiment_id"], info["run_name"]) == (experiment, run["run_name"])
        names = [run["run_name"] for run in runs]
        assert len(set(names)) == 2
        assert all(n.startswith("dag-dag-") for n in names)
