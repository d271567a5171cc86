"""Reference-guided training: MCMC graphs turned into replayable trajectories and trained on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emily.cognition import BGeScore, DAGHypotheses, build
from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.mcmc import StructureMCMC
from emily.cognition.reference import MCMCReference, ReferenceBuffer
from emily.cognition.registry import default_variant
from emily.cognition.samplers import sample_trajectories
from emily.core.errors import InputError


def _env(d: int = 5, n: int = 80, seed: int = 0) -> DAGHypotheses:
    data, _ = synthetic_linear_gaussian(d=d, n=n, seed=seed)
    return DAGHypotheses(BGeScore(data))


def test_reference_graphs_replay_to_themselves_with_their_reward() -> None:
    env = _env()
    adjacency, log_score = MCMCReference(env.score, chains=2, rounds=3, seed=1).draw()
    assert adjacency.shape == (6, 5, 5)
    actions, keys, log_reward = env.actions_from_adjacency(adjacency)
    buffer = ReferenceBuffer(capacity=10, length=env.max_steps + 1, seed=0)
    buffer.add(actions)
    order = torch.arange(6)
    net = build(env, "v1", seed=0)
    replayed = sample_trajectories(env, net.net, 6, forced_actions=actions[order])
    assert torch.equal(replayed.terminal["adj"], torch.as_tensor(adjacency))
    assert torch.equal(env.key(replayed.terminal), keys)
    assert torch.allclose(replayed.log_reward, log_reward, atol=1e-6)
    assert np.allclose(log_score - env.empty_score, log_reward.numpy(), atol=1e-6)
    shuffled = sample_trajectories(env, net.net, 12, forced_actions=buffer.sample(12))
    assert set(env.key(shuffled.terminal).tolist()) <= set(keys.tolist())


def test_reference_buffer_keeps_the_latest_and_validates() -> None:
    buffer = ReferenceBuffer(capacity=3, length=4, seed=0)
    buffer.add(torch.tensor([[0, 9, 9, 9], [1, 9, 9, 9]]))
    buffer.add(torch.tensor([[2, 9, 9, 9], [3, 9, 9, 9]]))
    assert buffer.actions[:, 0].tolist() == [1, 2, 3]
    with pytest.raises(InputError):
        ReferenceBuffer(capacity=0, length=4)
    with pytest.raises(InputError):
        ReferenceBuffer(capacity=2, length=4).sample(1)


def test_reference_buffer_ring_matches_a_list_of_the_latest() -> None:
    """Adds of every size, smaller and larger than the free room and the capacity, keep exactly
    the latest ``capacity`` rows in order; sampling only ever returns stored rows."""
    rng = np.random.default_rng(0)
    buffer = ReferenceBuffer(capacity=7, length=3, seed=0)
    kept: list[list[int]] = []
    counter = 0
    for m in rng.integers(0, 12, size=40):
        rows = [[counter + r, -1, 5] for r in range(int(m))]
        counter += int(m)
        buffer.add(torch.tensor(rows, dtype=torch.long).reshape(-1, 3))
        kept = (kept + rows)[-7:]
        assert buffer.actions.tolist() == kept
        assert len(buffer) == len(kept)
    drawn = buffer.sample(50)
    assert drawn.dtype == torch.long
    assert {int(v) for v in drawn[:, :].max(1).values} <= {row[0] for row in kept} | {5}
    with pytest.raises(InputError, match="below 32768"):
        buffer.add(torch.tensor([[40_000, 0, 0]]))
    assert buffer.actions.tolist() == kept  # the refused add changed nothing


def test_actions_from_adjacency_rejects_a_wrong_shape() -> None:
    with pytest.raises(InputError, match="adjacency must be"):
        _env().actions_from_adjacency(np.zeros((2, 4, 4), dtype=bool))


def test_default_dag_variant_trains_from_mcmc_reference() -> None:
    env = _env()
    assert default_variant("dag") == "dag"
    net = build(env, default_variant("dag"), seed=0)
    assert net.reference is not None
    assert net.reference_buffer is not None
    net.train(steps=3, progress=False)
    assert len(net.reference_buffer) == 3 * 8  # four sampled chains, two rounds per step
    assert net.generate(5).keys.numel() == 5


def test_reference_layout_goes_by_d_and_an_explicit_setting_wins() -> None:
    """The dag variant leaves chains, rounds and ladder to ``reference_layout``: four chains of
    two graphs with ladders of four rungs up to d = 20, four plain chains of eight above, 32
    chain-rounds a step either way; a config that names any of them keeps it."""
    from emily.cognition.gflownet import reference_layout

    assert reference_layout(4) == reference_layout(20) == (4, 2, (1.0, 0.9, 0.8, 0.7))
    assert reference_layout(21) == reference_layout(50) == (4, 8, (1.0,))
    net = build(_env(), default_variant("dag"), seed=0)
    assert net.config.reference_chains is None
    assert net.config.reference_rounds is None
    assert net.config.reference_betas is None
    assert isinstance(net.reference, MCMCReference)
    assert net.reference.mcmc.n_chains == 4
    assert net.reference.mcmc.betas == (1.0, 0.9, 0.8, 0.7)
    assert net.reference.per_draw == 8
    named = build(_env(), default_variant("dag"), seed=0, reference_chains=3)
    assert isinstance(named.reference, MCMCReference)
    assert named.reference.mcmc.n_chains == 3
    assert named.reference.per_draw == 3 * 2
    plain = build(_env(), default_variant("dag"), seed=0, reference_betas=[1.0])  # JSON's list
    assert isinstance(plain.reference, MCMCReference)
    assert plain.reference.mcmc.betas == (1.0,)


def test_the_reference_ladder_swaps_and_hands_over_only_sampled_graphs() -> None:
    """The trainer's reference draws come from the sampled (b = 1) chains only, and the hot
    rungs do swap with them."""
    net = build(_env(), default_variant("dag"), seed=0)
    assert isinstance(net.reference, MCMCReference)
    adjacency, log_score = net.reference.draw()
    assert adjacency.shape[0] == log_score.shape[0] == 8
    cold = [c.pa for c in net.reference.mcmc._chains]
    assert net.reference.mcmc.graphs() == [list(pa) for pa in cold]
    assert sum(net.reference.mcmc.swaps_accepted) > 0
    with pytest.raises(InputError, match=r"betas must start at 1\.0"):
        build(_env(), default_variant("dag"), seed=0, reference_betas=(0.5,))


def test_mcmc_reference_needs_a_dag_space() -> None:
    from emily.cognition import HyperGrid

    with pytest.raises(InputError, match="DAG space"):
        build(HyperGrid(2, 4), "v1", reference="mcmc")


def test_vargrad_uses_the_batch_optimal_log_z() -> None:
    from emily.cognition.losses import log_partition_variance

    log_pf = torch.tensor([-3.0, -1.0, -2.0])
    log_pb = torch.tensor([-1.0, 0.0, -0.5])
    log_reward = torch.tensor([900.0, 901.0, 900.5])
    loss, log_z = log_partition_variance(log_pf, log_pb, log_reward)
    estimate = log_reward + log_pb - log_pf
    assert float(log_z) == pytest.approx(float(estimate.mean()))
    assert float(loss) == pytest.approx(float(estimate.var(unbiased=False)))
    # A sampler whose paths all balance at one log Z has zero loss, however large log Z is.
    balanced, _ = log_partition_variance(log_pf, log_pb, log_pf - log_pb + 850.0)
    assert float(balanced) == pytest.approx(0.0, abs=1e-6)


def test_default_dag_variant_keeps_its_log_z_estimate() -> None:
    env = _env(n=200)
    net = build(env, default_variant("dag"), seed=0)
    net.train(steps=20, progress=False)
    samples = net.generate(200)
    # log Z estimates log sum R: at least the reward of the best sampled graph, give or take
    # the policy's error on it, and far above the learned log Z's first 20 steps (2 nats).
    assert float(net.log_z.detach()) > float(samples.log_reward.max()) - 20.0


def test_reference_likelihood_adds_the_reference_paths_mean_negative_log_likelihood() -> None:
    """``reference_likelihood = w`` adds ``-w * mean log P_F`` of the reference group's paths
    to the balance loss, and nothing for the step's other groups."""
    from emily.cognition.samplers import evaluate

    env = _env()
    net = build(env, "dag", seed=0, reference_likelihood=3.0)
    net.train(steps=1, progress=False)
    assert net.reference_buffer is not None
    reference = sample_trajectories(env, net.net, 6, forced_actions=net.reference_buffer.sample(6))
    fresh = sample_trajectories(env, net.net, 4)
    plain = build(env, "dag", seed=0, reference_likelihood=0.0)
    plain.policy.load_state_dict(net.policy.state_dict())
    with torch.no_grad():
        base = float(plain._batch_loss([fresh, reference], reference))
        with_term = float(net._batch_loss([fresh, reference], reference))
        without_reference = float(net._batch_loss([fresh, reference]))
        nll = -float(evaluate(net.net, reference, learned_pb=False).log_pf.mean())
    assert nll > 0.0
    assert with_term == pytest.approx(base + 3.0 * nll, rel=1e-5)
    assert without_reference == pytest.approx(base, rel=1e-5)


def test_reference_likelihood_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        build(_env(), "dag", reference_likelihood=-1.0)


def test_reference_burn_in_runs_its_sweeps_before_the_first_graph_only() -> None:
    """``burn_in_sweeps`` sweeps of ``d (d - 1)`` steps per chain precede the first graphs;
    later draws only advance the chains by their thinning."""
    env, d, chains = _env(), 5, 2
    short = MCMCReference(env.score, chains=chains, rounds=1, burn_in_sweeps=0, seed=1)
    long = MCMCReference(env.score, chains=chains, rounds=1, burn_in_sweeps=30, seed=1)
    short.draw()
    long.draw()
    assert long.mcmc.steps - short.mcmc.steps == 30 * d * (d - 1) * chains
    before = (short.mcmc.steps, long.mcmc.steps)
    short.draw()
    long.draw()
    assert long.mcmc.steps - before[1] == short.mcmc.steps - before[0] > 0


def test_the_gflownet_hands_its_reference_burn_in_to_the_chains() -> None:
    net = build(_env(), "dag", seed=0, reference_burn_in=7)
    reference = net.reference
    assert isinstance(reference, MCMCReference)
    reference.draw()
    first = reference.mcmc.steps
    plain = build(_env(), "dag", seed=0, reference_burn_in=0).reference
    assert isinstance(plain, MCMCReference)
    plain.draw()
    rungs = plain.mcmc.n_chains * len(plain.mcmc.betas)  # steps count the tempered rungs too
    assert first - plain.mcmc.steps == 7 * 5 * 4 * rungs


def test_reference_burn_in_must_not_be_negative() -> None:
    with pytest.raises(InputError, match="burn_in_sweeps"):
        MCMCReference(_env().score, burn_in_sweeps=-1)
    with pytest.raises(ValueError, match="reference_burn_in"):
        build(_env(), "dag", reference_burn_in=-1)


@pytest.mark.parametrize(("d", "max_parents"), [(4, None), (13, 2), (20, None), (20, 3)])
def test_known_paths_replay_at_once_as_step_by_step(d: int, max_parents: int | None) -> None:
    """The DAG space builds every prefix state of known paths at once
    (``DAGHypotheses.states_along``); the trajectories equal the step-by-step replay's, field by
    field, for MCMC graphs replayed along shuffled edge orders, with a parent cap and at the
    small d where states are deduplicated by key. It fails if a closure, a mask, a visit link or
    the running score differs."""
    data, _ = synthetic_linear_gaussian(d=d, n=60, seed=d)
    score = BGeScore(data)
    env = DAGHypotheses(score, max_parents=max_parents)
    graphs = StructureMCMC(score, max_parents=max_parents, seed=1).sample(40).adjacency
    actions, _, _ = env.actions_from_adjacency(np.asarray(graphs, dtype=bool))
    gen = torch.Generator().manual_seed(0)
    for row in actions:
        k = int((row != env.stop_action).sum())
        row[:k] = row[:k][torch.randperm(k, generator=gen)]
    kwargs = {"forced_actions": actions, "learned_pb": True, "record_rewards": True}
    at_once = sample_trajectories(env, None, len(actions), **kwargs)  # type: ignore[arg-type]
    step_by_step_env = DAGHypotheses(score, max_parents=max_parents)
    step_by_step_env.states_along = lambda *_: None  # type: ignore[method-assign]
    stepped = sample_trajectories(step_by_step_env, None, len(actions), **kwargs)  # type: ignore[arg-type]
    assert int(stepped.lengths.sum()) > len(actions)
    for name in ("obs", "fmask", "actions", "traj", "step", "next_visit", "log_pb_uniform",
                 "bmask", "unique_rows", "inverse"):  # fmt: skip
        got, want = getattr(at_once, name), getattr(stepped, name)
        assert (got is None) == (want is None), name
        assert got is None or torch.equal(got, want), name
    for key, value in stepped.terminal.items():
        assert torch.allclose(at_once.terminal[key].double(), value.double()), key
    assert torch.allclose(at_once.log_reward, stepped.log_reward, rtol=1e-12, atol=1e-9)
    assert at_once.log_reward_visit is not None
    assert stepped.log_reward_visit is not None
    assert torch.allclose(at_once.log_reward_visit, stepped.log_reward_visit)
