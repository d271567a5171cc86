"""Exact distributions on enumerable spaces: the target, and the sampler's own.

A trained sampler's terminal distribution follows from its forward policy by dynamic programming
over all states in order of level: ``reach(s0) = 1``; ``reach(s') += reach(s) P_F(s'|s)``;
``P_T(x) = reach(x) P_F(stop|x)``. This is exact, so L1 and Jensen–Shannon distances carry no
sampling noise (a sampled L1 from 200k draws over 4,096 states has a floor near 0.1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from emily.cognition.envs.base import Environment, State
from emily.cognition.estimators import masked_log_softmax
from emily.core.errors import InputError

LogitsFn = Callable[[torch.Tensor], torch.Tensor]


class ExactEvaluator:
    """Pre-computes the state graph of an enumerable environment once; evaluates policies fast."""

    def __init__(self, env: Environment, chunk: int = 65536) -> None:
        if not env.enumerable:
            raise InputError(f"{env.name} is not enumerable; exact metrics need a small space")
        self.env, self.chunk = env, chunk
        states = env.enumerate_states()
        keys = env.key(states)
        order = torch.argsort(keys)
        self.states: State = {k: v[order] for k, v in states.items()}
        self.keys = keys[order]
        self.n = int(self.keys.numel())
        self.obs = env.obs(self.states)
        self._guide: torch.Tensor | None = None  # built on first guided use
        self.fmask = env.forward_mask(self.states)
        self.levels = env.level(self.states)
        n_moves = env.n_actions - 1
        src, act = self.fmask[:, :n_moves].nonzero(as_tuple=True)
        children = env.step({k: v[src] for k, v in self.states.items()}, act)
        child_idx = torch.searchsorted(self.keys, env.key(children))
        if not torch.equal(self.keys[child_idx], env.key(children)):
            raise InputError(f"{env.name}: enumeration is not closed under its actions")
        self.edge_src, self.edge_act, self.edge_dst = src, act, child_idx
        self.edge_level = self.levels[src]
        self.max_level = int(self.levels.max())
        s0 = env.key(env.initial_state(1))
        self.s0 = int(torch.searchsorted(self.keys, s0))
        self.log_reward = env.log_reward(self.states)
        self.target = torch.softmax(self.log_reward, 0)
        self._by_level = [
            (self.edge_level == lv).nonzero(as_tuple=True)[0] for lv in range(self.max_level + 1)
        ]

    @torch.no_grad()
    def policy_probs(self, logits_fn: LogitsFn, guided: bool = False) -> torch.Tensor:
        """Forward-policy probabilities ``[N, A]`` of every state (float64); ``guided`` adds the
        environment's known logits as a forward-looking sampler does."""
        outs = [logits_fn(self.obs[i : i + self.chunk]) for i in range(0, self.n, self.chunk)]
        logits = torch.cat(outs).double()
        if guided:
            if self._guide is None:
                guide = self.env.guide(self.states)
                self._guide = torch.zeros_like(logits) if guide is None else guide.double()
            logits = logits + self._guide
        return masked_log_softmax(logits, self.fmask).exp()

    @torch.no_grad()
    def terminal_distribution(self, logits_fn: LogitsFn, guided: bool = False) -> torch.Tensor:
        """The sampler's exact terminal distribution over the enumerated states (sorted keys)."""
        probs = self.policy_probs(logits_fn, guided)
        reach = torch.zeros(self.n, dtype=torch.float64, device=probs.device)
        reach[self.s0] = 1.0
        flow = probs[self.edge_src, self.edge_act]
        for idx in self._by_level:
            if idx.numel():
                reach.index_add_(0, self.edge_dst[idx], reach[self.edge_src[idx]] * flow[idx])
        return reach * probs[:, -1]
