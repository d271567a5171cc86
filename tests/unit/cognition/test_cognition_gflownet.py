"""GFlowNet API: train (steps / seconds / callbacks), generate, save / load, variants, errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid, StepMetrics, build
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import DAGHypotheses
from emily.cognition.estimators import EdgePolicy, PolicyMLP
from emily.cognition.gflownet import initial_stop_bias
from emily.cognition.metrics import empirical_distribution, l1_distance
from emily.cognition.registry import variant_config, variant_for_flag, variant_names
from emily.cognition.samplers import sample_trajectories
from emily.cognition.scores import BGeScore
from emily.core import ManualClock
from emily.core.errors import InputError

SMALL = {"hidden": 32, "n_layers": 1, "batch_size": 8}


def _grid() -> HyperGrid:
    return HyperGrid(ndim=2, height=4)


def test_train_reports_metrics_through_callbacks() -> None:
    seen: list[StepMetrics] = []
    net = GFlowNet(_grid(), GFlowNetConfig(**SMALL, eval_every=5))
    summary = net.train(steps=10, progress=False, callbacks=[seen.append])
    assert summary.steps == 10
    assert summary.trajectories == 80
    assert [m.step for m in seen] == list(range(1, 11))
    assert seen[4].l1 is not None
    assert seen[4].jsd is not None
    assert seen[3].l1 is None
    assert all(0.0 <= m.diversity <= 1.0 for m in seen)
    assert seen[-1].trajectories == 80


def test_train_by_time_budget_uses_the_injected_clock() -> None:
    clock = ManualClock()
    net = GFlowNet(_grid(), GFlowNetConfig(**SMALL), clock=clock)

    def tick(_: StepMetrics) -> None:
        clock.advance(1.0)

    summary = net.train(seconds=3.0, progress=False, callbacks=[tick])
    assert summary.steps == 3


def test_train_with_progress_bar_and_continuation() -> None:
    net = GFlowNet(_grid(), GFlowNetConfig(**SMALL))
    net.train(steps=3, progress=True)
    net.train(steps=2, progress=False)
    assert net.step_count == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({}, "budget"), ({"steps": -1}, "steps"), ({"seconds": float("nan")}, "seconds")],
)
def test_train_rejects_bad_budgets(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        GFlowNet(_grid(), GFlowNetConfig(**SMALL)).train(progress=False, **kwargs)  # type: ignore[arg-type]


def test_generate_from_s0_and_from_an_initial_state() -> None:
    net = GFlowNet(_grid(), GFlowNetConfig(**SMALL))
    samples = net.generate(50)
    assert len(samples) == 50
    assert samples.embeddings.shape == (50, 2)
    assert torch.isfinite(samples.log_reward).all()
    partial = net.generate(30, initial_state=[2, 1])
    assert (partial.states["x"] >= torch.tensor([2, 1])).all()
    with pytest.raises(InputError, match="num_samples"):
        net.generate(0)
    with pytest.raises(InputError):
        net.generate(5, initial_state=[9, 9])
    with pytest.raises(InputError, match="temperature"):
        net.generate(5, temperature=0.0)


def test_exact_distribution_matches_sampling() -> None:
    net = GFlowNet(_grid(), GFlowNetConfig(**SMALL, seed=1))
    exact = net.exact_distribution()
    assert exact.sum().item() == pytest.approx(1.0, abs=1e-9)
    torch.manual_seed(0)
    samples = net.generate(20000)
    emp = empirical_distribution(samples.keys, net.exact.keys)
    assert l1_distance(emp, exact) < 0.06


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    net = GFlowNet(_grid(), GFlowNetConfig(**SMALL, seed=4))
    net.train(steps=5, progress=False)
    path = net.save(tmp_path / "ck" / "g.pt")
    again = GFlowNet.load(path)
    assert again.step_count == 5
    assert again.config == net.config
    assert torch.allclose(again.exact_distribution(), net.exact_distribution())
    from_bytes = GFlowNet.load(path.read_bytes())
    assert from_bytes.log_z.item() == pytest.approx(net.log_z.item())
    with pytest.raises(InputError, match="no GFlowNet checkpoint"):
        GFlowNet.load(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="checkpoint"):
        GFlowNet.load(bad)
    other = tmp_path / "other.pt"
    torch.save({"x": 1}, other)
    with pytest.raises(InputError, match="not an Emily"):
        GFlowNet.load(other)


def test_dag_checkpoint_round_trip(tmp_path: Path) -> None:
    data, _ = synthetic_linear_gaussian(d=3, seed=0)
    net = GFlowNet(DAGHypotheses(BGeScore(data)), GFlowNetConfig(**SMALL))
    net.train(steps=2, progress=False)
    again = GFlowNet.load(net.save(tmp_path / "dag.pt"))
    assert torch.allclose(again.exact_distribution(), net.exact_distribution())


@pytest.mark.parametrize("name", ["v1", "v2", "mdb"])
def test_every_variant_trains_on_both_spaces(name: str) -> None:
    data, _ = synthetic_linear_gaussian(d=3, seed=0)
    for env in (_grid(), DAGHypotheses(BGeScore(data))):
        net = build(env, name, **SMALL)
        summary = net.train(steps=6, progress=False)
        assert summary.steps == 6
    assert net.config.variant == name


def test_registry_and_flag() -> None:
    assert {"v1", "v2", "mdb"} <= set(variant_names())
    assert variant_for_flag(True) == "v2"
    assert variant_for_flag(False) == "v1"
    assert variant_config("v2").learned_pb
    with pytest.raises(InputError, match="unknown GFlowNet variant"):
        variant_config("v9")


def test_replay_buffer_keeps_best_distinct_and_replays_exactly() -> None:
    env = _grid()
    net = GFlowNet(env, GFlowNetConfig(**SMALL, replay_capacity=4))
    net.train(steps=5, progress=False)
    buf = net.replay
    assert buf is not None
    assert 0 < len(buf) <= 4
    assert torch.unique(buf.keys).numel() == len(buf)
    forced = buf.sample(6)
    traj = sample_trajectories(env, net.policy, 6, forced_actions=forced)
    assert torch.equal(traj.padded_actions(forced.shape[1]), forced)


def test_exploration_and_temperature_paths_run() -> None:
    env = _grid()
    net = GFlowNet(env, GFlowNetConfig(**SMALL, epsilon=0.5, temperature=2.0))
    net.train(steps=3, progress=False)
    traj = sample_trajectories(env, net.policy, 10, epsilon=1.0)
    assert traj.lengths.shape == (10,)


def test_config_device_must_match_env() -> None:
    with pytest.raises(InputError, match="device"):
        GFlowNet(_grid(), GFlowNetConfig(device="meta"))


def test_exact_metrics_need_an_enumerable_space() -> None:
    data, _ = synthetic_linear_gaussian(d=6, seed=0, n=30)
    net = GFlowNet(DAGHypotheses(BGeScore(data), max_parents=1), GFlowNetConfig(**SMALL))
    with pytest.raises(InputError, match="enumerable"):
        net.exact_metrics()


def test_untrained_dag_sampler_draws_about_d_edges_not_hundreds() -> None:
    """With every logit near 0 an untrained sampler stops with probability ~1 / (A + 1), A the
    allowed edges: at d = 30 its graphs had hundreds of edges, each one a network call. The stop
    logit now starts at log(d - 1), so the expected size is about d."""
    data, _ = synthetic_linear_gaussian(d=30, n=50, seed=0)
    net = build(DAGHypotheses(BGeScore(data)), "dag", hidden=16)
    edges = float(net.generate(300).states["adj"].sum((1, 2)).float().mean())
    assert 10.0 <= edges <= 90.0, f"{edges:.1f} edges on average"


def test_stop_bias_defaults_per_space_and_can_be_set() -> None:
    data, _ = synthetic_linear_gaussian(d=4, seed=0)
    dag = DAGHypotheses(BGeScore(data))
    assert initial_stop_bias(dag, GFlowNetConfig()) == pytest.approx(math.log(3))
    assert initial_stop_bias(dag, GFlowNetConfig(stop_bias=-1.5)) == -1.5
    assert initial_stop_bias(dag, GFlowNetConfig(forward_looking=True)) == 0.0
    assert initial_stop_bias(_grid(), GFlowNetConfig()) == 0.0
    mlp = GFlowNet(dag, GFlowNetConfig(hidden=8))
    assert isinstance(mlp.policy, PolicyMLP)
    assert float(mlp.policy.pf_head.bias.detach()[-1]) == pytest.approx(math.log(3))
    edge = GFlowNet(dag, GFlowNetConfig(policy="edge", hidden=8))
    logits = edge.net.forward_logits(dag.obs(dag.initial_state(2))).detach()
    assert torch.allclose(logits[:, -1], torch.full((2,), math.log(3)))
    assert torch.count_nonzero(logits[:, :-1]) == 0  # edges start level: only stopping moved


def test_checkpoint_from_before_the_stop_bias_loads_its_weights(tmp_path: Path) -> None:
    """Older checkpoints' configs lack ``stop_bias`` and ``reference_rounds``: they load with the
    defaults, and the saved weights (not a fresh initialisation) drive the sampler."""
    data, _ = synthetic_linear_gaussian(d=3, seed=0)
    net = GFlowNet(DAGHypotheses(BGeScore(data)), GFlowNetConfig(hidden=32, n_layers=1))
    net.train(steps=2, progress=False)
    path = net.save(tmp_path / "old.pt")
    blob = torch.load(path, weights_only=False)
    for key in ("stop_bias", "reference_rounds"):
        del blob["config"][key]
    torch.save(blob, path)
    again = GFlowNet.load(path)
    assert torch.allclose(again.exact_distribution(), net.exact_distribution())


def test_edge_policy_first_layer_equals_the_concatenated_form() -> None:
    """The first layer is computed from projected embeddings (one product per batch); it must
    equal the layer applied to the concatenated features the parameters were defined on."""
    torch.manual_seed(0)
    d, hidden = 6, 8
    policy = EdgePolicy(d, hidden)
    adj = torch.rand(5, d, d).lt(0.3).triu(1).float()
    reach = adj + torch.eye(d)
    for _ in range(d):
        reach = (reach @ reach).clamp(max=1.0)
    counts = torch.rand(5, d, 4)
    emb = policy.node_id
    feats = torch.cat(
        [
            emb.expand(5, d, hidden),
            adj.transpose(1, 2) @ emb / d,
            adj @ emb / d,
            reach.transpose(1, 2) @ emb / d,
            reach @ emb / d,
            counts,
        ],
        dim=-1,
    )
    expected = torch.relu(policy.trunk[0](feats))
    assert torch.allclose(policy._first_layer(adj, reach, counts), expected, atol=1e-6)
