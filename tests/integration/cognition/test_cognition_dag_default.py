"""The default DAG sampler on problems it was not tuned to, and its memory at research scale.

The d = 5 instances follow the benchmark's family (random ER DAG over a random order, weights
±U[0.5, 2], unit noise, raw columns) but are drawn from seeds the variant was never tuned on; the
bar is the issue's: Jensen–Shannon divergence to the exact posterior (all 29,281 DAGs) <= 0.05.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from emily.cognition import DAGHypotheses, build
from emily.cognition.data import random_dag
from emily.cognition.metrics import dag_collapse, jensen_shannon
from emily.cognition.registry import default_variant
from emily.cognition.scores import BGeScore

# Statistical checks of whole distributions: thousands of sampler steps, traced line by line
# under coverage at several times the cost, adding no line the unit tests do not cover.
pytestmark = pytest.mark.no_cover


def _family_instance(d: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    adj = random_dag(d, d, rng)
    weights = rng.uniform(0.5, 2.0, (d, d)) * rng.choice([-1.0, 1.0], (d, d)) * adj
    data = np.zeros((n, d))
    for j in _topological(adj):
        data[:, j] = data @ weights[:, j] + rng.normal(size=n)
    return pd.DataFrame(data, columns=[f"v{j}" for j in range(d)])


def _topological(adj: np.ndarray) -> list[int]:
    order: list[int] = []
    left = set(range(adj.shape[0]))
    while left:
        ready = min(j for j in left if not any(adj[i, j] for i in left))
        order.append(ready)
        left.remove(ready)
    return order


@pytest.mark.parametrize(("n", "seed"), [(100, 7_301), (1000, 7_302)])
def test_default_variant_matches_the_exact_posterior_at_d5(n: int, seed: int) -> None:
    env = DAGHypotheses(BGeScore(_family_instance(5, n, seed)))
    net = build(env, default_variant("dag"), seed=seed)
    net.train(steps=1200, progress=False)
    p = net.exact_distribution()
    jsd = jensen_shannon(p / p.sum(), net.exact.target)
    assert jsd <= 0.05, f"JSD {jsd:.4f} to the exact posterior"
    samples = net.generate(2000)
    assert not dag_collapse(samples.states["adj"].numpy()).collapsed


_GENERATE_AT_SCALE = """
import json, resource, torch
from emily.cognition import DAGHypotheses, GFlowNet, GFlowNetConfig
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.scores import BGeScore
torch.set_num_threads(1)
data, _ = synthetic_linear_gaussian(d=30, n=200, seed=0)
net = GFlowNet(DAGHypotheses(BGeScore(data)), GFlowNetConfig(hidden=16, seed=0))
samples = net.generate(2048, batch_size=2048)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": len(samples), "peak_mb": peak_mb}))
"""


def test_generation_memory_is_linear_in_batch_and_d_squared() -> None:
    """2,048 DAGs over 30 variables in one batch: the sampler once pre-drew Gumbel noise of shape
    [436, 2048, 901] (3.2 GB) for this; it now holds only the current states."""
    out = subprocess.run(
        [sys.executable, "-c", _GENERATE_AT_SCALE],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["n"] == 2048
    # Measured: 576 MB alone, 1,565 MB inside the suite's coverage run (subprocess tracing);
    # the old sampler needed 3.2 GB for its noise alone, on top of either.
    assert figures["peak_mb"] < 3000, figures
