"""Named GFlowNet variants, so a feature flag (``enable_gflownet_v2``) can pick one by name.

* ``v1``: trajectory balance, uniform backward policy, on-policy sampling (the seed's V1).
* ``v2``: trajectory balance with a learned backward policy, ε-uniform exploration annealed to 0
  and replay of the best distinct hypotheses.
* ``mdb``: modified detailed balance (Deleu et al., 2022) for spaces where every state may stop
  (DAGs, HyperGrid), uniform backward policy, with annealed ε-exploration.
* ``fl-mdb``: modified detailed balance with the exact edge score gains added to the policy's
  logits (forward-looking) and a node-embedding edge policy. Kept for comparison: the gains make
  the untrained sampler greedy, and the network then has to learn to cancel them; it did worse
  than ``dag`` on every instance we tried.
* ``dag`` (the default for DAG spaces, :func:`default_variant`: each hypothesis space names its
  default in :mod:`emily.cognition.envs.registry`): trajectory balance with the batch-optimal
  log Z (``vargrad``), where three quarters of every batch are structure-MCMC reference graphs
  replayed along random edge orders (:mod:`.reference`) and a quarter the sampler's own; Adam at
  3e-4, gradients clipped at norm 10; a 2 x 256 MLP whose stop logit starts at ``log(d - 1)``
  (:func:`~emily.cognition.gflownet.initial_stop_bias`), so the untrained sampler draws ~d
  edges, not hundreds (at d = 50 it drew ~640, and made 17 steps in 60 CPU s). Width 128 made
  more steps in equal CPU time and no worse d = 20 / 50 samples on three instances, but its
  vargrad log Z lagged the d = 5 rewards by 10-25 nats more over the first 40 steps, so 256
  stays. The node-embedding :class:`~emily.cognition.estimators.EdgePolicy` is no cheaper per
  state on one CPU thread (batched small products against one large GEMM) and learned worse (d =
  20: E-SHD 31-33 vs 8). On-policy training (``v1``, ``mdb``) of a peaked posterior locks onto
  the first graphs it finds; the reference shows it where the mass is, and the balance sets the
  proportions from the rewards. A learned log Z moves ~lr per step and lagged hundreds of nats
  behind such posteriors; at 1e-3 the d = 20 samples' E-SHD swung by +-5 between checkpoints.
"""

from __future__ import annotations

from typing import Any

from emily.cognition.envs.base import Environment
from emily.cognition.envs.registry import hypothesis_space, space_names
from emily.cognition.gflownet import GFlowNet, GFlowNetConfig
from emily.cognition.losses import get_loss
from emily.core.errors import InputError

VARIANTS: dict[str, dict[str, Any]] = {
    "v1": {"loss": "tb", "learned_pb": False},
    "v2": {
        "loss": "tb",
        "learned_pb": True,
        "epsilon": 0.1,
        "epsilon_final": 0.0,
        "epsilon_decay_steps": 2000,
        "replay_capacity": 1000,
        "replay_fraction": 0.25,
    },
    "mdb": {
        "loss": "mdb",
        "learned_pb": False,
        "epsilon": 0.1,
        "epsilon_final": 0.0,
        "epsilon_decay_steps": 2000,
    },
    "fl-mdb": {
        "loss": "mdb",
        "learned_pb": False,
        "policy": "edge",
        "forward_looking": True,
        "hidden": 64,
        "batch_size": 32,
        "epsilon": 0.1,
        "epsilon_final": 0.0,
        "epsilon_decay_steps": 2000,
        "replay_capacity": 10000,
        "replay_fraction": 0.5,
        "replay_shuffle": True,
    },
    "dag": {
        "loss": "vargrad",
        "lr": 3e-4,
        "learned_pb": False,
        "reference": "mcmc",
        # Chains, graphs per chain and tempered ladder by d (gflownet.reference_layout): up to
        # d = 20 four chains with ladders of four rungs, which cross between modes that plain
        # chains weigh by where they happen to be; four plain chains of eight graphs above,
        # where each chain must walk further (ADR 0015, 2026-11-28). The chains cost about a
        # sixth of a step at d = 20.
        "reference_chains": None,
        "reference_rounds": None,
        "reference_betas": None,
        # The reference paths' likelihood beside the balance residual (ADR 0015, 2026-11-27).
        "reference_likelihood": 100.0,
        "grad_clip": 10.0,
        "reference_fraction": 0.75,
        "batch_size": 32,
    },
}


def default_variant(env_name: str) -> str:
    """The variant that is right off the shelf for a hypothesis space (``env.name``): the one
    its registration names, ``v1`` for a space that is not registered."""
    if env_name not in space_names():
        return "v1"
    return hypothesis_space(env_name).default_variant


def variant_names() -> list[str]:
    """Registered variant names."""
    return sorted(VARIANTS)


def variant_config(name: str, **overrides: Any) -> GFlowNetConfig:
    """The config of variant ``name`` with ``overrides`` applied."""
    if name not in VARIANTS:
        raise InputError(f"unknown GFlowNet variant {name!r}; choose one of {variant_names()}")
    get_loss(str(overrides.get("loss", VARIANTS[name]["loss"])))  # a registered objective
    return GFlowNetConfig(**{**VARIANTS[name], "variant": name, **overrides})


def build(env: Environment, name: str = "v1", **overrides: Any) -> GFlowNet:
    """A GFlowNet of variant ``name`` on ``env``."""
    return GFlowNet(env, variant_config(name, **overrides))


def variant_for_flag(enable_gflownet_v2: bool) -> str:
    """The variant the ``enable_gflownet_v2`` flag selects."""
    return "v2" if enable_gflownet_v2 else "v1"
