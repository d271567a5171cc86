"""The registered GFlowNet is an MLflow Model: MLflow's own loader and server answer with it.

A real SQLite MLflow store under a temporary home; the model is loaded in a fresh process
(``mlflow.pyfunc.load_model("models:/emily-gflownet@champion")``) and served by a real
``mlflow models serve --env-manager local``; the runtime's warm start reads the same checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _support.ports import free_port
from emily.core import InputError, ManualClock
from emily.ops.registry import COGNITION_MODEL, DecisionLedger, ModelRegistry
from emily.ops.tracking import TrackingConfig, TrainingOutput, make_client, track_training
from emily.runtime.builder import DEMO_FEATURES

pytestmark = [pytest.mark.slow]

CARD = Path(__file__).resolve().parents[3] / "model_cards" / f"{COGNITION_MODEL}.yaml"
URI = f"models:/{COGNITION_MODEL}@champion"
REQUEST = {"dataframe_split": {"columns": ["n", "seed"], "data": [[48, 7]]}}


@dataclass(frozen=True)
class Champion:
    home: Path
    config: TrackingConfig
    registry: ModelRegistry
    run_id: str
    version: str
    expected: list[dict[str, object]]  # what the trained net itself draws for REQUEST


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Champion:
    """A DAG GFlowNet over the demo features, tracked, registered with its card and promoted."""
    import pandas as pd

    from emily.cli.cognition import demo_table
    from emily.cognition import BGeScore, DAGHypotheses
    from emily.cognition.registry import build, default_variant
    from emily.ops.registry._pyfunc import sample_hypotheses

    home = tmp_path_factory.mktemp("pyfunc-home")
    config = TrackingConfig(
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}", artifact_root=(home / "art").as_uri()
    )
    clock = ManualClock()
    registry = ModelRegistry(config=config, ledger=DecisionLedger(home / "d.db"), clock=clock)
    net = build(DAGHypotheses(BGeScore(demo_table())), default_variant("dag"), hidden=32)

    def trainer(callback):  # type: ignore[no-untyped-def]
        net.train(steps=5, callbacks=[callback], progress=False)
        return TrainingOutput(model=net)

    run = track_training(trainer, {"steps": 5}, config=config, clock=clock)
    version = registry.register(run_id=run.run_id, name=COGNITION_MODEL, card=CARD)
    registry.promote(COGNITION_MODEL, version.version, why="serve it")
    split = REQUEST["dataframe_split"]
    frame = pd.DataFrame(split["data"], columns=split["columns"])
    expected = sample_hypotheses(net, frame).to_dict(orient="records")
    return Champion(home, config, registry, run.run_id, version.version, expected)


def _env(champion: Champion) -> dict[str, str]:
    """The environment of an activated venv (MLflow starts ``uvicorn`` from PATH) on the store."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": champion.config.tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }


def _check_hypotheses(rows: list[dict[str, object]], n: int) -> None:
    """Rows of distinct DAGs over the demo features whose counts add up to ``n``."""
    assert rows
    assert sum(int(r["count"]) for r in rows) == n  # type: ignore[call-overload]
    keys = set()
    for row in rows:
        edges = json.loads(str(row["hypothesis"]))
        assert all(a in DEMO_FEATURES and b in DEMO_FEATURES and a != b for a, b in edges)
        keys.add(frozenset(map(tuple, edges)))
        assert row["share"] == pytest.approx(int(row["count"]) / n)  # type: ignore[call-overload]
        assert math.isfinite(float(row["log_reward"]))  # type: ignore[arg-type]
    assert len(keys) == len(rows)  # one row per distinct hypothesis


def test_the_version_is_a_logged_mlflow_model_with_signature_and_example(
    champion: Champion,
) -> None:
    from mlflow.models import Model

    client = make_client(champion.config)
    version = client.get_model_version(COGNITION_MODEL, champion.version)
    assert version.source.startswith("models:/m-")  # the version is the run's logged model
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    assert (logged.source_run_id, logged.name, logged.status.name) == (
        champion.run_id,
        "model",
        "READY",
    )
    assert [o.model_id for o in client.get_run(champion.run_id).outputs.model_outputs] == [
        logged.model_id
    ]
    folder = champion.registry.download_model(COGNITION_MODEL, champion.home / "dl")
    model = Model.load(str(folder / "MLmodel"))
    assert "python_function" in model.flavors
    assert model.signature is not None
    assert [c.name for c in model.signature.inputs.inputs] == ["n", "seed"]
    assert [c.required for c in model.signature.inputs.inputs] == [True, False]
    assert [c.name for c in model.signature.outputs.inputs] == [
        "request",
        "hypothesis",
        "count",
        "share",
        "log_reward",
    ]
    assert model.saved_input_example_info is not None
    example = json.loads((folder / "input_example.json").read_text())
    assert example["columns"] == ["n", "seed"]


def test_a_fresh_process_loads_the_champion_and_predicts_hypotheses(champion: Champion) -> None:
    code = (
        "import json, mlflow, pandas as pd\n"
        f"model = mlflow.pyfunc.load_model({URI!r})\n"
        "split = json.loads(input())['dataframe_split']\n"
        "seeded = model.predict(pd.DataFrame(split['data'], columns=split['columns']))\n"
        "unseeded = model.predict(pd.DataFrame({'n': [20]}))\n"
        "rows = [t.to_dict(orient='records') for t in (seeded, unseeded)]\n"
        "print(json.dumps(rows))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(REQUEST),
        capture_output=True,
        text=True,
        env=_env(champion),
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seeded, unseeded = json.loads(result.stdout.splitlines()[-1])
    _check_hypotheses(seeded, 48)
    assert seeded == champion.expected  # the same model, drawn with the same seed
    _check_hypotheses(unseeded, 20)


def _serve(champion: Champion, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``mlflow models serve`` on a free port; a port taken meanwhile is retried."""
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    assert mlflow is not None, "the mlflow console script is not installed in this venv"
    for _ in range(3):
        port = free_port()
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [mlflow, "models", "serve", "-m", URI, "--env-manager", "local",
                 "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
                env=_env(champion), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: uvicorn's workers die with it
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/ping", timeout=5).status_code == 200:
                    return proc, url
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        _stop(proc)
        if "address already in use" not in log.read_text(errors="replace").lower():
            break
    pytest.fail(f"mlflow models serve did not answer /ping:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_mlflow_models_serve_answers_invocations_with_hypotheses(
    champion: Champion, tmp_path: Path
) -> None:
    proc, url = _serve(champion, tmp_path / "serve.log")
    try:
        response = httpx.post(f"{url}/invocations", json=REQUEST, timeout=120)
        assert response.status_code == 200, response.text
        rows = response.json()["predictions"]
        _check_hypotheses(rows, 48)
        assert rows == champion.expected
        bad = {"dataframe_split": {"columns": ["n"], "data": [[0]]}}
        refused = httpx.post(f"{url}/invocations", json=bad, timeout=120)
        assert refused.status_code == 400
        assert "n must be an integer in 1..100000, got 0" in refused.text
    finally:
        _stop(proc)


def test_the_runtime_warm_starts_from_the_mlflow_models_checkpoint(
    champion: Champion, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emily.core.settings import load_settings
    from emily.ops.registry._pyfunc import checkpoint_file
    from emily.runtime.champion import choose_cognition

    monkeypatch.setenv("EMILY_MLFLOW_URI", champion.config.tracking_uri)
    choice = choose_cognition(load_settings(), DEMO_FEATURES, ManualClock())
    assert choice.model is not None, choice.reason
    assert (choice.model.version, choice.reason) == (champion.version, "emily-gflownet@champion")
    folder = champion.registry.download_model(COGNITION_MODEL, champion.home / "warm")
    assert checkpoint_file(folder) == folder / "artifacts" / "checkpoint.pt"
    assert choice.model.checkpoint == checkpoint_file(folder).read_bytes()  # the served file
    with pytest.raises(InputError, match="not a state dict"):
        champion.registry.load_state_dict(COGNITION_MODEL)


def test_registering_the_run_again_reuses_its_mlflow_model(champion: Champion) -> None:
    again = champion.registry.register(
        run_id=champion.run_id, name=COGNITION_MODEL, card=CARD, why="same run, new version"
    )
    client = make_client(champion.config)
    first = client.get_model_version(COGNITION_MODEL, champion.version)
    second = client.get_model_version(COGNITION_MODEL, again.version)
    assert second.source == first.source
    assert len(client.get_run(champion.run_id).outputs.model_outputs) == 1
