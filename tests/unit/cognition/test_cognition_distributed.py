"""The Ray task bodies run inline (no cluster), and the scale-out API's argument errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid
from emily.cognition.distributed import (
    LOOPBACK_ENV,
    _sample_chunk,
    sample_parallel,
    sweep,
    train_one,
    use_loopback_env,
)
from emily.core.errors import ConfigError


def test_train_one_inline_summarises_and_checkpoints(tmp_path: Path) -> None:
    env = HyperGrid(ndim=2, height=4)
    cfg = GFlowNetConfig(hidden=16, n_layers=1, batch_size=4).model_dump()
    out = train_one(env.spec(), cfg, 3, None, checkpoint=str(tmp_path / "c.pt"))
    assert out["steps"] == 3
    assert 0.0 <= out["l1"] <= 2.0
    assert Path(out["checkpoint"]).exists()
    keys = _sample_chunk(Path(out["checkpoint"]).read_bytes(), 7, seed=1)
    assert len(keys) == 7
    assert all(0 <= k < 16 for k in keys)


def test_scale_out_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one config"):
        sweep(HyperGrid(2, 4).spec(), [])
    with pytest.raises(ConfigError, match=">= 1"):
        sample_parallel(str(tmp_path / "x.pt"), 0)
    net = GFlowNet(HyperGrid(2, 4), GFlowNetConfig(hidden=8, n_layers=1))
    with pytest.raises(ConfigError, match=">= 1"):
        sample_parallel(str(net.save(tmp_path / "g.pt")), 5, workers=0)


def test_loopback_settings_are_set_but_never_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in LOOPBACK_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    use_loopback_env()
    import os

    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert os.environ["RAY_AUTH_MODE"] == "disabled"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "1"
