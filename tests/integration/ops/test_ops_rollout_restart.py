"""A canary survives a process restart and its verdict shows in `emily models history`.

Real processes, the real MLflow registry (SQLite under EMILY_HOME) and the real rollout store:
the first process measures part of the evidence and exits, the second resumes it and rolls the
challenger back when it breaks the diversity SLO.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import typer
from typer.testing import CliRunner

from emily.core import ManualClock
from emily.ops.registry import ModelCardSpec, ModelRegistry
from emily.ops.tracking import TrainingOutput, track_training

pytestmark = pytest.mark.slow

SCRIPT = """
import json, sys
from emily.ops.registry import ModelRegistry
from emily.ops.rollout import SLO, CanaryRollout, RolloutStore

class Model:
    def __init__(self, width): self.width = width
    def generate(self, n): return [i % self.width for i in range(n)]

canary = CanaryRollout(
    model_name="canaried", champion=Model(100), challenger=Model(1), challenger_version="2",
    registry=ModelRegistry(), percent=50.0, slo=SLO(min_diversity=0.5, max_p95_latency_ms=1e6),
    min_requests=20, who="canary-controller", store=RolloutStore.default(),
)
start, stop = int(sys.argv[1]), int(sys.argv[2])
for i in range(start, stop):
    canary.generate(f"user-{i}", 10)
    if canary.report().requests >= int(sys.argv[3]):
        break
print(json.dumps({"requests": canary.report().requests, "state": canary.state.value}))
"""


def _process(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _register_two_versions(registry: ModelRegistry, clock: ManualClock) -> None:
    card = ModelCardSpec(
        name="canaried", version="1", date=clock.now().date(), intended_use="test",
        limitations=["none"], ethical_considerations=["none"], performance_metrics=["loss"],
    )  # fmt: skip
    for scale in (1.0, 2.0):

        def trainer(callback, scale=scale):  # type: ignore[no-untyped-def]
            callback(0, {"loss": scale})
            return TrainingOutput(model={"w": torch.full((2,), scale)})

        run = track_training(trainer, {"scale": scale}, clock=clock)
        registry.register(run_id=run.run_id, name="canaried", card=card)
    registry.promote("canaried", "1", why="baseline")
    registry.promote("canaried", "2", alias="challenger", why="candidate for the canary")


def test_a_restarted_canary_resumes_and_rolls_back_on_slo_breach() -> None:
    clock = ManualClock()
    registry = ModelRegistry(clock=clock)
    _register_two_versions(registry, clock)

    first = _process("0", "10000", "12")
    assert first == {"requests": 12, "state": "running"}
    second = _process("10000", "20000", "1000")  # other keys: the evidence is what carries over
    assert second == {"requests": 20, "state": "rolled-back"}

    assert registry.alias_holder("canaried", "challenger") is None
    assert registry.alias_holder("canaried", "champion") == "1"
    from emily.cli.ops_commands import register_ops_commands

    app = typer.Typer()
    register_ops_commands(app)
    result = CliRunner().invoke(app, ["models", "history", "canaried", "--json"])
    assert result.exit_code == 0, result.output
    last = json.loads(result.output)[-1]
    assert (last["who"], last["what"], last["alias"]) == (
        "canary-controller",
        "clear-alias",
        "challenger",
    )
    assert "SLO broken (diversity 0.100 < 0.5)" in last["why"]
    assert "after 20 canary requests" in last["why"]
    rollouts = CliRunner().invoke(app, ["models", "rollouts", "--json"])
    [saved] = json.loads(rollouts.output)
    assert (saved["id"], saved["observations"]) == ("canary:canaried:v2", 20)
    assert saved["state"]["state"] == "rolled-back"
