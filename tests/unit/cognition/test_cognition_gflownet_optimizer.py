"""The optimiser is built when training needs it, and a checkpoint's Adam state survives that.

Why: building a torch optimiser imports torch's compiler stack (~1 CPU s); a process that only
samples from a loaded model must not pay it, and a process that resumes training must resume
Adam's moments, not restart them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid

SMALL = {"hidden": 16, "n_layers": 1, "batch_size": 4}


def _trained(tmp_path: Path, steps: int = 3) -> Path:
    net = GFlowNet(HyperGrid(ndim=2, height=4), GFlowNetConfig(**SMALL))
    net.train(steps=steps, progress=False)
    return net.save(tmp_path / "grid.pt")


def _adam_steps(state: dict[str, object]) -> list[float]:
    per_param = state["state"]
    assert isinstance(per_param, dict)
    return [float(entry["step"]) for entry in per_param.values()]


def test_a_loaded_model_that_only_samples_saves_the_checkpoints_adam_state(
    tmp_path: Path,
) -> None:
    path = _trained(tmp_path)
    saved = torch.load(path, weights_only=False)["optimizer"]
    net = GFlowNet.load(path)
    net.generate(8)
    again = torch.load(net.save(tmp_path / "again.pt"), weights_only=False)["optimizer"]
    assert _adam_steps(again) == _adam_steps(saved) == [3.0] * len(_adam_steps(saved))
    for key, entry in saved["state"].items():
        assert torch.equal(entry["exp_avg"], again["state"][key]["exp_avg"])
        assert torch.equal(entry["exp_avg_sq"], again["state"][key]["exp_avg_sq"])


def test_training_a_loaded_model_resumes_adam_where_it_stopped(tmp_path: Path) -> None:
    net = GFlowNet.load(_trained(tmp_path))
    net.train(steps=1, progress=False)
    assert set(_adam_steps(net.optimizer.state_dict())) == {4.0}


def test_an_untrained_models_checkpoint_has_an_empty_adam_state(tmp_path: Path) -> None:
    net = GFlowNet(HyperGrid(ndim=2, height=4), GFlowNetConfig(**SMALL))
    blob = torch.load(net.save(tmp_path / "fresh.pt"), weights_only=False)
    assert blob["optimizer"]["state"] == {}
    assert len(blob["optimizer"]["param_groups"]) == 2
