"""The hypothesis-space and loss registries: one registration is all a new space or loss needs."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import typer

from emily.cli.cognition import _env_help, space_name
from emily.cognition import BGeScore, DAGHypotheses, GFlowNet, GFlowNetConfig, HyperGrid, losses
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.envs import make_env
from emily.cognition.envs import registry as spaces
from emily.cognition.envs.registry import HypothesisSpace, SpaceOptions, by_keywords
from emily.cognition.registry import default_variant, variant_config
from emily.core.errors import InputError


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test vanish after it."""
    monkeypatch.setattr(spaces, "SPACES", spaces.SPACES.copy())
    monkeypatch.setattr(losses, "LOSSES", losses.LOSSES.copy())


class Line(HyperGrid):
    """A one-dimensional HyperGrid under its own name: a space the registry did not know."""

    name = "line"

    def __init__(self, height: int = 5, device: str | torch.device = "cpu") -> None:
        super().__init__(1, height, device=device)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.name, "height": self.height}


def _line() -> HypothesisSpace:
    return HypothesisSpace(
        name="line",
        summary="a line of --height points",
        from_options=lambda o: Line(o.height),
        from_spec=by_keywords(Line),
        default_variant="v2",
    )


def test_the_builtin_spaces_rebuild_their_checkpoints_and_name_their_variants() -> None:
    assert spaces.space_names()[:2] == ["hypergrid", "dag"]
    assert spaces.structure_spaces() == ["dag"]
    grid = HyperGrid(3, 5, R0=0.2)
    assert make_env(grid.spec()).spec() == grid.spec()
    built = spaces.hypothesis_space("hypergrid").from_options(SpaceOptions(ndim=3, height=5))
    assert built.spec() == HyperGrid(3, 5).spec()
    data, _ = synthetic_linear_gaussian(d=3, n=40, seed=1)
    dag = DAGHypotheses(BGeScore(data), max_parents=1)
    rebuilt = make_env(dag.spec())
    assert isinstance(rebuilt, DAGHypotheses)
    assert (rebuilt.columns, rebuilt.max_parents) == (dag.columns, 1)
    assert rebuilt.empty_score == pytest.approx(dag.empty_score)
    assert (default_variant("hypergrid"), default_variant("dag")) == ("v1", "dag")
    assert default_variant("not-registered") == "v1"
    with pytest.raises(InputError, match="expected 'hypergrid' or 'dag'"):
        make_env({"kind": "torus"})


def test_one_registration_makes_a_space_buildable_reloadable_and_a_cli_choice(
    isolated: None,
) -> None:
    with pytest.raises(typer.BadParameter, match="'line' is not one of 'hypergrid', 'dag'"):
        space_name("line")
    spaces.register_space(_line())
    assert space_name("line") == "line"
    assert "line, a line of --height points" in _env_help()
    assert default_variant("line") == "v2"
    env = spaces.hypothesis_space("line").from_options(SpaceOptions(height=7))
    assert isinstance(make_env(env.spec()), Line)
    assert make_env(env.spec()).spec() == {"kind": "line", "height": 7}
    with pytest.raises(InputError, match="registered already"):
        spaces.register_space(_line())
    spaces.register_space(_line(), replace=True)
    with pytest.raises(InputError, match="letters, digits"):
        spaces.register_space(HypothesisSpace("a b", "", Line, by_keywords(Line)))


def _value(t: torch.Tensor) -> float:
    return float(t.detach())


def _two_groups(seed: int) -> list[tuple[Any, Any]]:
    """Two evaluated batches of HyperGrid trajectories (sizes 3 and 5), with visit rewards."""
    from emily.cognition.samplers import evaluate, sample_trajectories

    torch.manual_seed(seed)
    net = GFlowNet(HyperGrid(2, 4), GFlowNetConfig(hidden=16))
    groups = [sample_trajectories(net.env, net.net, n, record_rewards=True) for n in (3, 5)]
    return [(evaluate(net.net, g, False), g) for g in groups]


def test_the_loss_registry_computes_each_objective_as_its_function_does() -> None:
    parts = _two_groups(0)
    log_z = torch.tensor(0.5)
    loss, estimate = losses.batch_loss("tb", log_z, parts)
    expected = (
        sum(
            losses.trajectory_balance(log_z, ev.log_pf, ev.log_pb, g.log_reward.float())
            * g.batch_size
            for ev, g in parts
        )
        / 8
    )
    assert estimate is None
    assert _value(loss) == pytest.approx(_value(expected))
    pooled, estimate = losses.batch_loss("vargrad", log_z, parts)
    rewards = torch.cat([g.log_reward.float() for _, g in parts])
    offsets = rewards + torch.cat([ev.log_pb for ev, _ in parts])
    offsets = offsets - torch.cat([ev.log_pf for ev, _ in parts])
    assert estimate is not None
    assert _value(estimate) == pytest.approx(_value(offsets.mean()))
    assert _value(pooled) == pytest.approx(_value(offsets.var(unbiased=False)))
    assert losses.get_loss("mdb").per_visit
    assert not losses.get_loss("tb").per_visit
    assert _value(losses.batch_loss("mdb", log_z, parts)[0]) >= 0
    assert losses.loss_names() == ["tb", "mdb", "vargrad"]
    with pytest.raises(InputError, match="unknown loss 'l2'"):
        losses.get_loss("l2")
    with pytest.raises(InputError, match="unknown loss 'l2'"):
        variant_config("v1", loss="l2")


def test_a_registered_loss_is_what_training_minimises(isolated: None) -> None:
    def halved(log_z: torch.Tensor, ev: Any, traj: Any) -> torch.Tensor:
        return 0.5 * losses.trajectory_balance(log_z, ev.log_pf, ev.log_pb, traj.log_reward.float())

    losses.register_loss(losses.Loss("half-tb", "half of trajectory balance", group=halved))
    with pytest.raises(InputError, match="exactly one of group= and pooled="):
        losses.Loss("neither", "no objective")
    runs = {}
    for name in ("tb", "half-tb"):
        net = GFlowNet(HyperGrid(2, 4), GFlowNetConfig(loss=name, hidden=16, seed=3))
        runs[name] = net.train_step()[0]  # the first step: same weights, same batch
    assert runs["half-tb"] == pytest.approx(runs["tb"] / 2)
