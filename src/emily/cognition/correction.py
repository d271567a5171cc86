"""Exact correction of a DAG GFlowNet's samples: importance weights and a GFlowNet-driven MCMC.

Why: a GFlowNet trained for a fixed CPU budget samples its own terminal distribution ``P_T``,
not the posterior; at d = 20 it is too diffuse after a minute of training, and nothing in its
output says by how much. Its forward policy is nevertheless a cheap, global proposal whose
probability of every sampled path is known, and that is all an exact correction needs. Working
in the space of trajectories ``(x, tau)`` (Deleu et al. 2022, Zhang et al. 2022) avoids the
intractable marginal ``P_T(x)``: the extended target ``pi(x) P_B(tau | x)`` has ``pi`` as its
``x``-marginal for any backward policy, and the DAG variants use the uniform one, under which
undoing the edges of a ``k``-edge DAG in some order has probability ``1 / k!`` (every edge of a
DAG can be removed, and the stop action has no backward step). So

    log w(x, tau) = log R(x) - log k! - log P_F(tau)

(``P_F`` including the final stop) is an exact importance weight, and a Metropolis–Hastings chain
on ``(x, tau)`` that proposes paths with the policy is exact whatever the policy's quality.

Two consumers:

* :func:`importance_resample`: sampling-importance-resampling of a batch of GFlowNet draws
  (consistent as the batch grows; its effective sample size says how far ``P_T`` is off).
* :class:`GFlowNetMH`: chains that alternate MC³ local moves (the chains of a
  :class:`~emily.cognition.mcmc.StructureMCMC`) with a *back-and-forth* move: refresh ``tau`` from
  ``P_B(. | x)`` (a uniformly random order of ``x``'s edges: a Gibbs step of the extended
  target), keep its first ``m`` steps (``m`` uniform on ``0..k``), let the policy regenerate the
  rest, and accept with ``min(1, w(x', tau') / w(x, tau) * (k + 1) / (k' + 1))`` (the last factor:
  the chance of picking ``m`` from either side). ``m = 0`` is an independence proposal from the
  GFlowNet; a long kept prefix is a large but local jump the policy has learned to fill in. Each
  kernel leaves the posterior invariant, so the chains are right by construction; the policy
  only decides how fast they mix, which is what the amortisation buys over plain MC³.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from emily.cognition.envs.base import State
from emily.cognition.estimators import masked_log_softmax
from emily.cognition.gflownet import GFlowNet
from emily.cognition.mcmc import StructureMCMC, masks_to_adjacency
from emily.cognition.replay import shuffle_moves
from emily.cognition.samplers import sample_terminal
from emily.core.clock import Clock
from emily.core.errors import InputError

Backtrack = Literal["uniform", "full"]


def log_backward_uniform(n_edges: torch.Tensor) -> torch.Tensor:
    """``log P_B(tau | x) = -log k!`` of any path to a ``k``-edge DAG under the uniform backward
    policy (each backward step removes one of the current edges uniformly)."""
    return -torch.lgamma(n_edges.double() + 1.0)


def trajectory_log_weights(
    log_reward: torch.Tensor, log_pf: torch.Tensor, n_edges: torch.Tensor
) -> torch.Tensor:
    """``log R(x) + log P_B(tau | x) - log P_F(tau)`` (float64), the exact importance weight of a
    path ``tau`` to ``x`` drawn from the forward policy, up to the constant ``log Z``."""
    return log_reward.double() + log_backward_uniform(n_edges) - log_pf.double()


def effective_sample_size(log_w: torch.Tensor) -> float:
    """Kish's ESS ``(sum w)^2 / sum w^2`` of log-weights (1 .. len)."""
    w = torch.softmax(log_w.double(), 0)
    return float(1.0 / (w * w).sum())


def _check_dag_net(net: GFlowNet) -> None:
    if net.env.name != "dag" or net.config.learned_pb:
        raise InputError("the correction needs a DAG GFlowNet with the uniform backward policy")


@dataclass(frozen=True)
class Resampled:
    """What :func:`importance_resample` returns."""

    adjacency: np.ndarray  # [n, d, d] bool, resampled graphs
    log_weight: np.ndarray  # [N] float64 log-weights of all N proposals
    ess: float  # Kish effective sample size of the N proposals
    proposals: int


def importance_resample(
    net: GFlowNet,
    n_proposals: int,
    n_samples: int,
    *,
    seed: int = 0,
    seconds: float | None = None,
    chunk: int = 2048,
) -> Resampled:
    """Draw ``n_proposals`` graphs from the GFlowNet (fewer if ``seconds`` of its clock run out
    first; at least one chunk) and resample ``n_samples`` of them in proportion to their
    trajectory importance weights (multinomial, with replacement)."""
    _check_dag_net(net)
    if n_proposals < 1 or n_samples < 1:
        raise InputError("n_proposals and n_samples must be >= 1")
    start = net.clock.monotonic()
    adj_parts: list[torch.Tensor] = []
    w_parts: list[torch.Tensor] = []
    drawn_total = 0
    while drawn_total < n_proposals:
        drawn = net.generate(min(chunk, n_proposals - drawn_total))
        assert drawn.log_pf is not None
        adj = drawn.states["adj"]
        w_parts.append(
            trajectory_log_weights(drawn.log_reward, drawn.log_pf, adj.flatten(1).sum(-1))
        )
        adj_parts.append(adj)
        drawn_total += adj.shape[0]
        if seconds is not None and net.clock.monotonic() - start >= seconds:
            break
    log_w, adj_all = torch.cat(w_parts), torch.cat(adj_parts)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.multinomial(torch.softmax(log_w, 0), n_samples, replacement=True, generator=gen)
    return Resampled(
        adjacency=adj_all[idx].cpu().numpy().astype(bool),
        log_weight=log_w.cpu().numpy(),
        ess=effective_sample_size(log_w),
        proposals=drawn_total,
    )


@dataclass(frozen=True)
class CorrectedSamples:
    """Graphs kept by one :meth:`GFlowNetMH.sample` call, pooled over chains (round-major)."""

    adjacency: np.ndarray  # [n, d, d] bool
    rounds: int  # rounds run (each: local steps on every chain, then one GFlowNet move each)
    local_steps: int  # MC³ steps, all chains
    local_acceptance: float
    proposals: int  # GFlowNet moves proposed, all chains
    acceptance_rate: float  # of the GFlowNet moves
    seconds: float


class GFlowNetMH:
    """Exact MCMC over DAGs mixing MC³ local moves with GFlowNet back-and-forth proposals.

    ``mcmc``'s chains hold the graphs (start them burnt in: :meth:`from_reference` copies the
    states of the chains that trained the GFlowNet). A round is ``local_steps`` MC³ steps per
    chain (``None``: forty sweeps, ``40 d (d - 1)``), a graph kept every ``record_every`` of them
    (``None``: half a sweep, the MCMC's default thinning), then one GFlowNet move per chain and
    one more graph kept. Why this split: an MC³ step costs about a microsecond (a cached score
    look-up), a batched GFlowNet move tens of milliseconds at d = 20 (measured: 60 s of MC³ is
    ~60M steps there), so the chains spend most of the time on cheap local moves (forty sweeps:
    about two thirds of a round at d = 20 with 4 chains) and the policy supplies the rare global
    jumps that local moves cannot make. See the module docstring for why every move is exact.
    """

    def __init__(
        self,
        net: GFlowNet,
        mcmc: StructureMCMC,
        *,
        local_steps: int | None = None,
        record_every: int | None = None,
        backtrack: Backtrack = "uniform",
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        _check_dag_net(net)
        if mcmc.d != getattr(net.env, "d", None) or mcmc.max_parents != getattr(
            net.env, "max_parents", None
        ):
            raise InputError("the MCMC and the GFlowNet must share d and max_parents")
        d = mcmc.d
        self.net, self.mcmc, self.env = net, mcmc, net.env
        self.local_steps = 40 * d * (d - 1) if local_steps is None else local_steps
        self.record_every = max(1, record_every or d * (d - 1) // 2)
        self.backtrack = backtrack
        self.clock = clock or net.clock
        self._gen = torch.Generator().manual_seed(seed)
        self.proposed = 0
        self.accepted = 0

    @classmethod
    def from_reference(
        cls, net: GFlowNet, chains: int = 16, *, seed: int = 0, **kwargs: Any
    ) -> GFlowNetMH:
        """Chains started where the GFlowNet's reference MC³ chains are (burnt in by training),
        cycled over ``chains`` chains that share its memoised local scores."""
        ref = getattr(net.reference, "mcmc", None)
        if not isinstance(ref, StructureMCMC):
            raise InputError("from_reference needs a GFlowNet trained with an MCMC reference")
        mcmc = StructureMCMC(ref.score, ref.max_parents, chains=chains, seed=seed + 1)
        mcmc.share_scores(ref)  # the local terms computed in training are reused
        started = ref.graphs()
        for c in range(chains):
            mcmc.set_graph(c, started[c % ref.n_chains])
        return cls(net, mcmc, seed=seed, **kwargs)

    # --- public -------------------------------------------------------------------------------
    def sample(self, n_samples: int, *, seconds: float | None = None) -> CorrectedSamples:
        """Keep ``n_samples`` graphs pooled over chains: run until ``ceil(n / chains)``
        snapshots are kept, or with ``seconds`` until that budget of the clock is spent, keeping
        evenly spaced snapshots (the stride doubles as they pile up, as
        :meth:`StructureMCMC.sample` does)."""
        if n_samples < 1:
            raise InputError(f"n_samples must be >= 1, got {n_samples!r}")
        start = self.clock.monotonic()
        need = -(-n_samples // self.mcmc.n_chains)
        steps0, acc0 = self.mcmc.steps, self.mcmc.accepted
        prop0, gacc0 = self.proposed, self.accepted
        kept: list[list[list[int]]] = []
        stride, count, rounds = 1, 0, 0
        end = None if seconds is None else start + seconds
        done = False
        while not done:
            rounds += 1
            for snapshot in self._round():
                count += 1
                if count % stride == 0:
                    kept.append(snapshot)
                    if len(kept) >= 2 * need:
                        kept, stride = kept[1::2], 2 * stride
                if end is None:
                    done = count >= need
                else:
                    done = len(kept) >= need and self.clock.monotonic() >= end
                if done:
                    break
        picked = [kept[(k + 1) * len(kept) // need - 1] for k in range(need)]
        masks = [g for rnd in picked for g in rnd][:n_samples]
        steps = self.mcmc.steps - steps0
        proposals = self.proposed - prop0
        return CorrectedSamples(
            adjacency=masks_to_adjacency(masks, self.mcmc.d),
            rounds=rounds,
            local_steps=steps,
            local_acceptance=(self.mcmc.accepted - acc0) / max(1, steps),
            proposals=proposals,
            acceptance_rate=(self.accepted - gacc0) / max(1, proposals),
            seconds=self.clock.monotonic() - start,
        )

    def _round(self) -> Iterator[list[list[int]]]:
        """One round, yielding every chain's graph (parent masks) at each kept point."""
        left = self.local_steps
        while left > 0:
            run = min(self.record_every, left)
            self.mcmc.advance(run)
            left -= run
            yield self.mcmc.graphs()
        self.gflownet_move()
        yield self.mcmc.graphs()

    @torch.no_grad()
    def gflownet_move(self) -> torch.Tensor:
        """One back-and-forth MH move on every chain; returns which chains accepted."""
        n_chains = self.mcmc.n_chains
        adj = masks_to_adjacency(self.mcmc.graphs(), self.mcmc.d)
        actions, _, _ = self.env.actions_from_adjacency(adj)  # type: ignore[attr-defined]
        actions = shuffle_moves(actions.cpu(), self._gen).to(self.env.device)  # tau ~ P_B(.|x)
        k = torch.as_tensor(adj.reshape(n_chains, -1).sum(-1), device=self.env.device)
        if self.backtrack == "full":
            m = torch.zeros_like(k)
        else:
            u = torch.rand(k.shape, generator=self._gen, dtype=torch.float64).to(k.device)
            m = (u * (k + 1).double()).floor().long().clamp(max=k)
        prefix, log_r, lpf_old = self._walk(actions, k, m)
        policy = self.net.net
        self.net.policy.eval()
        try:
            new, lpf_new = sample_terminal(
                self.env, policy, n_chains, start=prefix, guided=self.net.config.forward_looking
            )
        finally:
            self.net.policy.train()
        k_new = new["adj"].flatten(1).sum(-1)
        log_r_new = self.env.log_reward(new)
        log_alpha = trajectory_log_weights(log_r_new, lpf_new, k_new) - trajectory_log_weights(
            log_r, lpf_old, k
        )
        if self.backtrack == "uniform":
            log_alpha = log_alpha + torch.log((k + 1).double()) - torch.log((k_new + 1).double())
        u = torch.rand(n_chains, generator=self._gen, dtype=torch.float64).to(log_alpha.device)
        accept = torch.log(u) < log_alpha
        pmask = new["pmask"].cpu()
        for c in accept.nonzero().squeeze(1).tolist():
            self.mcmc.set_graph(c, pmask[c].tolist())
        self.proposed += n_chains
        self.accepted += int(accept.sum())
        return accept

    def _walk(
        self, actions: torch.Tensor, k: torch.Tensor, m: torch.Tensor
    ) -> tuple[State, torch.Tensor, torch.Tensor]:
        """Replay paths ``actions`` (edges then stop, ``k`` edges each): the state after ``m``
        steps, ``log R`` of the end state and ``log P_F`` of steps ``m .. k`` (stop included)."""
        env, policy = self.env, self.net.net
        n = actions.shape[0]
        rows = torch.arange(n, device=env.device)
        state = env.initial_state(n)
        prefix = {key: v.clone() for key, v in state.items()}
        lpf = torch.zeros(n, dtype=torch.float64, device=env.device)
        guided = self.net.config.forward_looking
        self.net.policy.eval()
        try:
            for t in range(int(k.max()) + 1):
                at = m == t
                if bool(at.any()):
                    for key, held in prefix.items():
                        held[at] = state[key][at]
                live = (t >= m) & (t <= k)
                if bool(live.any()):
                    idx = rows[live]
                    sub = {key: v[idx] for key, v in state.items()}
                    raw = policy.forward_logits(env.obs(sub))
                    if guided:
                        guide = env.guide(sub)
                        raw = raw if guide is None else raw + guide
                    logp = masked_log_softmax(raw, env.forward_mask(sub))
                    lpf[idx] += logp.gather(1, actions[idx, t].unsqueeze(1)).squeeze(1).double()
                moving = rows[t < k]
                if moving.numel():
                    moved = env.step(
                        {key: v[moving] for key, v in state.items()}, actions[moving, t]
                    )
                    state = {key: v.index_copy(0, moving, moved[key]) for key, v in state.items()}
        finally:
            self.net.policy.train()
        return prefix, env.log_reward(state), lpf
