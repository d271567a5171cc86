"""A new hypothesis space in one registration, trained and sampled by the Python API and the CLI.

`BitStrings(n)` builds a string of n bits one set bit at a time; strings with half their bits set
earn five times the reward of the rest. `register_space` is the one registration: after it,
`emily train --env bits` trains it, a checkpoint of it reloads, and `emily sample` reads it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from emily.cognition.envs.base import Environment, State
from emily.cognition.envs.registry import HypothesisSpace, by_keywords, register_space
from emily.core.errors import InputError


class BitStrings(Environment):
    """Strings of `n` bits; an action sets one bit, the last action stops."""

    name = "bits"

    def __init__(self, n: int = 4, device: str | torch.device = "cpu") -> None:
        super().__init__(device)
        self.n = n
        self.n_actions, self.obs_dim, self.max_steps = n + 1, n, n
        self._set = torch.eye(n + 1, dtype=torch.long, device=self.device)[:, :n]  # stop: no-op
        self._bits = 2 ** torch.arange(n, device=self.device)

    def initial_state(self, n: int) -> State:
        return {"x": torch.zeros(n, self.n, dtype=torch.long, device=self.device)}

    def obs(self, state: State) -> torch.Tensor:
        return state["x"].float()

    def forward_mask(self, state: State) -> torch.Tensor:
        stop = torch.ones(state["x"].shape[0], 1, dtype=torch.bool, device=self.device)
        return torch.cat([state["x"] == 0, stop], dim=1)

    def backward_mask(self, state: State) -> torch.Tensor:
        return state["x"] == 1

    def step(self, state: State, actions: torch.Tensor) -> State:
        return {"x": state["x"] + self._set[actions]}

    def log_reward(self, state: State) -> torch.Tensor:
        half = state["x"].sum(-1) == self.n // 2
        return torch.where(half, 5.0, 1.0).double().log()

    def key(self, state: State) -> torch.Tensor:
        return (state["x"] * self._bits).sum(-1)

    def embed(self, state: State) -> torch.Tensor:
        return state["x"].float()

    def state_from(self, raw: Any) -> State:
        x = torch.as_tensor([int(c) for c in str(raw)], device=self.device)
        if x.shape != (self.n,) or ((x != 0) & (x != 1)).any():
            raise InputError(f"expected {self.n} bits such as {'0' * self.n!r}, got {raw!r}")
        return {"x": x.unsqueeze(0)}

    def describe(self, state: State) -> list[Any]:
        return ["".join(map(str, row)) for row in state["x"].tolist()]

    def spec(self) -> dict[str, Any]:
        return {"kind": self.name, "n": self.n}  # the constructor's arguments: by_keywords

    def is_mode(self, state: State) -> torch.Tensor:
        return state["x"].sum(-1) == self.n // 2

    @property
    def enumerable(self) -> bool:
        return True  # 2^n states: exact L1 / Jensen-Shannon against the true target

    def enumerate_states(self) -> State:
        keys = torch.arange(2**self.n, device=self.device)
        return {"x": (keys.unsqueeze(1) // self._bits) % 2}

    def level(self, state: State) -> torch.Tensor:
        return state["x"].sum(-1)


# The one registration: --env bits, checkpoints, default variant and help all read it.
register_space(
    HypothesisSpace(
        name="bits",
        summary="bit strings of --ndim bits, half of them set is best",
        from_options=lambda options: BitStrings(options.ndim),
        from_spec=by_keywords(BitStrings),
    )
)


def train_with_the_python_api(steps: int) -> dict[str, Any]:
    """`build` a GFlowNet of the default variant on the space, train it, read it."""
    from emily.cognition import build

    net = build(BitStrings(4), "v1", hidden=32, seed=0)
    untrained_l1, _ = net.exact_metrics()
    net.train(steps=steps, progress=False)
    trained_l1, _ = net.exact_metrics()
    samples = net.generate(400)
    return {
        "untrained_l1": untrained_l1,
        "trained_l1": trained_l1,
        "mode_share": float(BitStrings(4).is_mode(samples.states).float().mean()),
        "examples": samples.descriptions[:5],
    }


def train_with_the_cli(steps: int, folder: Path) -> dict[str, Any]:
    """`emily train --env bits`, then `emily sample` on its checkpoint, as a user types them."""
    from typer.testing import CliRunner

    from emily.cli.app import app

    checkpoint = folder / "bits.pt"
    runner = CliRunner()
    args = ["--env", "bits", "--ndim", "4", "--hidden", "32", "--steps", str(steps)]
    trained = runner.invoke(app, ["train", *args, "--no-track", "--out", str(checkpoint), "--json"])
    if trained.exit_code != 0:
        raise SystemExit(f"emily train failed: {trained.output}")
    sampled = runner.invoke(app, ["sample", str(checkpoint), "-n", "400", "--json"])
    if sampled.exit_code != 0:
        raise SystemExit(f"emily sample failed: {sampled.output}")
    return {"train": json.loads(trained.stdout), "sample": json.loads(sampled.stdout)}


if __name__ == "__main__":
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "api": train_with_the_python_api(steps),
            "cli": train_with_the_cli(steps, Path(tmp)),
        }
    print(json.dumps(result))
