"""Loading a model to sample from it does not import torch's compiler stack (an optimiser does).

A fresh process, as ``emily sample`` or the runtime's sampler starts: load a checkpoint, draw.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid

LOAD_AND_SAMPLE = (
    "import sys\n"
    "from emily.cognition import GFlowNet\n"
    "GFlowNet.load(sys.argv[1]).generate(8)\n"
    "print('torch._dynamo' in sys.modules)\n"
)


def test_loading_and_sampling_builds_no_optimiser(tmp_path: Path) -> None:
    net = GFlowNet(HyperGrid(ndim=2, height=4), GFlowNetConfig(hidden=16, n_layers=1))
    net.train(steps=2, progress=False)
    path = net.save(tmp_path / "grid.pt")
    child = subprocess.run(
        [sys.executable, "-c", LOAD_AND_SAMPLE, str(path)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    assert child.stdout.strip().splitlines()[-1] == "False", child.stderr
