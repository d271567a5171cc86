"""`emily train --ray` on a loopback-only local Ray cluster: a seed sweep, parallel sampling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Ray reads its listener settings when it is first imported: set the loopback ones before that.
from emily.cognition.distributed import use_loopback_env

use_loopback_env()
ray = pytest.importorskip(
    "ray", reason="Ray is an optional extra: pip install 'emily-sovereign[ray]'"
)

pytestmark = pytest.mark.slow


def test_cli_sweep_then_parallel_sampling_on_one_local_cluster(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from emily.cli.cognition import app
    from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid
    from emily.cognition.distributed import ray_session, sample_parallel

    with ray_session(num_cpus=2):
        nodes = [n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")]
        assert nodes, ray.nodes()
        assert all(a == "127.0.0.1" for a in nodes), nodes
        res = CliRunner().invoke(
            app,
            ["train", "--ray", "--steps", "20", "--ndim", "2", "--height", "4", "--hidden",
             "16", "--sweep-seeds", "2", "--seed", "3", "--json"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        rows = json.loads(res.output.strip().splitlines()[-1])["sweep"]
        assert [r["seed"] for r in rows] == [3, 4]
        assert all(r["steps"] == 20 and 0.0 <= r["l1"] <= 2.0 for r in rows)

        net = GFlowNet(HyperGrid(ndim=2, height=4), GFlowNetConfig(hidden=16, n_layers=1))
        path = net.save(tmp_path / "g.pt")
        keys = sample_parallel(str(path), 101, workers=2)
        assert len(keys) == 101
        assert all(0 <= k < 16 for k in keys)
        assert ray.is_initialized()  # a caller-managed cluster is reused, not shut down
    assert not ray.is_initialized()
