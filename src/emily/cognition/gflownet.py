"""The GFlowNet: build with an environment, ``train``, ``generate``, ``save`` / ``load``.

Parts are swappable: the environment (any :class:`~emily.cognition.envs.base.Environment`), the
network (any module with ``forward(obs) -> (pf_logits, pb_logits | None)`` and
``forward_logits``), the loss (any name registered in :mod:`.losses`) and the sampler settings
(ε-uniform, temperature, replay). Training emits one :class:`StepMetrics` per step through
callbacks, so experiment tracking can plug in without touching the loop. Torch runs on one
thread by default (small networks on a 2-core machine); ``num_threads=None`` leaves torch's
setting alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import torch
from pydantic import Field, field_validator

from emily.cognition.checkpoints import read_checkpoint
from emily.cognition.envs.base import Environment, State, repeat_state, state_batch_size
from emily.cognition.estimators import EdgePolicy, PolicyMLP, PolicyNet
from emily.cognition.exact import ExactEvaluator
from emily.cognition.losses import batch_loss, get_loss
from emily.cognition.metrics import (
    DEFAULT_COLLAPSE_THRESHOLD,
    diversity,
    jensen_shannon,
    l1_distance,
)
from emily.cognition.reference import MCMCReference, ReferenceBuffer, ReferenceSource
from emily.cognition.replay import ReplayBuffer
from emily.cognition.samplers import (
    Trajectories,
    evaluate,
    sample_terminal,
    sample_trajectories,
)
from emily.core.clock import Clock, SystemClock
from emily.core.errors import InputError
from emily.core.models import SovereignModel


class GFlowNetConfig(SovereignModel):
    """Hyper-parameters of one GFlowNet (saved with every checkpoint)."""

    variant: str = "v1"
    loss: str = "tb"  # a name registered in emily.cognition.losses
    learned_pb: bool = False
    policy: Literal["mlp", "edge"] = "mlp"
    forward_looking: bool = False
    hidden: int = Field(default=256, ge=1)
    n_layers: int = Field(default=2, ge=1)
    batch_size: int = Field(default=16, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    lr_log_z: float = Field(default=0.1, gt=0)
    init_log_z: float = 0.0
    # Initial stop logit; None: log(d - 1) on DAG spaces (trajectories of ~d edges from step 0),
    # 0 elsewhere. Only the untrained net depends on it (checkpoints carry the learned value).
    stop_bias: float | None = None
    epsilon: float = Field(default=0.0, ge=0, le=1)
    epsilon_final: float | None = Field(default=None, ge=0, le=1)
    epsilon_decay_steps: int = Field(default=0, ge=0)
    temperature: float = Field(default=1.0, gt=0)
    replay_capacity: int = Field(default=0, ge=0)
    replay_fraction: float = Field(default=0.5, ge=0, lt=1)
    replay_shuffle: bool = False
    reference: Literal["none", "mcmc"] = "none"
    # None: by the number of variables (reference_layout); the dag variant leaves both None.
    reference_chains: int | None = Field(default=4, ge=1)
    reference_rounds: int | None = Field(default=2, ge=1)  # graphs per chain added every step
    # Inverse temperatures of each reference chain's tempered ladder (mcmc.StructureMCMC's
    # betas); (1.0,): plain MC³; None (also what a checkpoint from before the field loads
    # with): by the number of variables (reference_layout).
    reference_betas: tuple[float, ...] | None = None
    reference_burn_in: int = Field(default=20, ge=0)  # sweeps per chain before the first graph
    reference_fraction: float = Field(default=0.75, ge=0, lt=1)
    reference_capacity: int = Field(default=2000, ge=1)
    # Weight of the reference paths' negative log-likelihood under the policy, added to the
    # balance loss: 0 trains on reference paths by balance alone (see _batch_loss).
    reference_likelihood: float = Field(default=0.0, ge=0)
    grad_clip: float | None = Field(default=None, gt=0)
    lr_decay_steps: int = Field(default=0, ge=0)
    lr_decay: float = Field(default=0.1, gt=0, le=1)
    seed: int = 0
    num_threads: int | None = Field(default=1, ge=1)
    device: str = "cpu"
    eval_every: int = Field(default=0, ge=0)
    collapse_threshold: float = Field(default=DEFAULT_COLLAPSE_THRESHOLD, ge=0, le=1)

    @field_validator("loss")
    @classmethod
    def _registered_loss(cls, value: str) -> str:
        return get_loss(value).name

    @field_validator("reference_betas", mode="before")
    @classmethod
    def _betas_from_json(cls, value: object) -> object:
        """A checkpoint's or a flag's JSON brings the ladder back as a list."""
        return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class StepMetrics:
    """What one training step reports to callbacks (``l1``/``jsd`` only on evaluation steps)."""

    step: int
    loss: float
    log_z: float
    mean_log_reward: float
    diversity: float
    modes: int
    trajectories: int
    elapsed_s: float
    l1: float | None = None
    jsd: float | None = None


@dataclass(frozen=True)
class TrainSummary:
    """What :meth:`GFlowNet.train` returns."""

    steps: int
    trajectories: int
    seconds: float
    final_loss: float
    log_z: float
    modes: int


@dataclass(frozen=True)
class Samples:
    """Terminal hypotheses from :meth:`GFlowNet.generate`."""

    states: State
    log_reward: torch.Tensor
    keys: torch.Tensor
    embeddings: torch.Tensor
    descriptions: list[Any]
    log_pf: torch.Tensor | None = None  # [N] float64 log-probability of each sampled path

    def __len__(self) -> int:
        return int(self.keys.numel())


Callback = Callable[[StepMetrics], None]


class GFlowNet:
    """A discrete-action GFlowNet trained by trajectory balance (or modified detailed balance)."""

    def __init__(
        self,
        env: Environment,
        config: GFlowNetConfig | None = None,
        *,
        policy: torch.nn.Module | None = None,
        clock: Clock | None = None,
        reference: ReferenceSource | None = None,
    ) -> None:
        self.env = env
        self.config = config or GFlowNetConfig()
        cfg = self.config
        if cfg.device != str(env.device) and torch.device(cfg.device) != env.device:
            raise InputError(f"config device {cfg.device!r} differs from the env's {env.device}")
        self.device = env.device
        self.clock = clock or SystemClock()
        torch.manual_seed(cfg.seed)
        self.policy = policy or _default_policy(env, cfg)
        self.policy.to(self.device)
        self.net = cast(PolicyNet, self.policy)
        self.log_z = torch.nn.Parameter(torch.tensor(cfg.init_log_z, device=self.device))
        self._optimizer: torch.optim.Optimizer | None = None
        self._optimizer_state: dict[str, Any] | None = None  # a checkpoint's, until first use
        self.replay = (
            ReplayBuffer(cfg.replay_capacity, env.max_steps + 1, seed=cfg.seed)
            if cfg.replay_capacity > 0
            else None
        )
        self.reference = reference or _default_reference(env, cfg)
        self.reference_buffer = (
            ReferenceBuffer(cfg.reference_capacity, env.max_steps + 1, seed=cfg.seed)
            if self.reference is not None
            else None
        )
        self.step_count = 0
        self.trajectory_count = 0
        self.mode_keys: set[int] = set()
        self._exact: ExactEvaluator | None = None

    # --- training -----------------------------------------------------------------------------
    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """Adam over the policy and log Z, built on first use (with a loaded checkpoint's state).

        Why lazily: building a torch optimiser imports torch's compiler stack (about 800
        modules, 1 CPU s), which a process that only samples from a loaded model (``emily
        sample``, the runtime's sampler, a served model) never needs.
        """
        if self._optimizer is None:
            cfg = self.config
            self._optimizer = torch.optim.Adam(
                [
                    {"params": list(self.policy.parameters()), "lr": cfg.lr},
                    {"params": [self.log_z], "lr": cfg.lr_log_z},
                ],
                foreach=True,
            )
            if self._optimizer_state is not None:
                self._optimizer.load_state_dict(self._optimizer_state)
                self._optimizer_state = None
        return self._optimizer

    def _epsilon(self) -> float:
        cfg = self.config
        if cfg.epsilon_final is None or cfg.epsilon_decay_steps == 0:
            return cfg.epsilon
        frac = min(1.0, self.step_count / cfg.epsilon_decay_steps)
        return cfg.epsilon + frac * (cfg.epsilon_final - cfg.epsilon)

    def _replay(self, forced: torch.Tensor, record: bool) -> Trajectories:
        """Re-simulate forced action sequences (replay or reference) under the current policy."""
        cfg = self.config
        return sample_trajectories(
            self.env,
            self.net,
            forced.shape[0],
            learned_pb=cfg.learned_pb,
            record_rewards=record,
            forced_actions=forced.to(self.device),
            guided=cfg.forward_looking,
        )

    def _batch_loss(
        self, groups: list[Trajectories], reference: Trajectories | None = None
    ) -> torch.Tensor:
        """The registered loss over every trajectory of the step (``losses.batch_loss``: one
        variance over all of them for ``vargrad``, else the trajectory-weighted mean of each
        group's loss), plus ``reference_likelihood`` times the mean negative log-likelihood of
        the ``reference`` group's paths (one of ``groups``).

        Why the likelihood term: the reference graphs are (near) posterior draws and their edge
        orders draws of the uniform backward policy, so they are draws of the very path
        distribution the balance targets, ``R(x) P_B(tau | x) / Z``; raising their likelihood is
        a step down the forward KL to it. Balance alone spreads each path's error over its
        whole residual, hundreds of nats on peaked posteriors, and leaves the policy about an
        edge too generous per graph; the likelihood grades every decision of a path by itself.
        Both are minimised by the same policy.
        """
        cfg = self.config
        parts = [(evaluate(self.net, g, cfg.learned_pb), g) for g in groups]
        loss, log_z = batch_loss(cfg.loss, self.log_z, parts)
        if log_z is not None:
            with torch.no_grad():  # estimated, not learned: kept for reports and checkpoints
                self.log_z.copy_(log_z)
        if reference is not None and cfg.reference_likelihood > 0:
            (evaluated,) = [ev for ev, g in parts if g is reference]
            loss = loss - cfg.reference_likelihood * evaluated.log_pf.mean()
        return loss

    def train_step(self) -> tuple[float, Trajectories]:
        """One optimiser step on a fresh batch (plus replayed trajectories when configured)."""
        cfg, env = self.config, self.env
        n_reference = 0
        if self.reference is not None:
            self._add_reference()
            n_reference = min(round(cfg.batch_size * cfg.reference_fraction), cfg.batch_size - 1)
        n_replay = 0
        if self.replay is not None and len(self.replay) > 0:
            n_replay = round((cfg.batch_size - n_reference) * cfg.replay_fraction)
            n_replay = min(n_replay, cfg.batch_size - n_reference - 1)
        n_fresh = cfg.batch_size - n_replay - n_reference
        record = get_loss(cfg.loss).per_visit
        traj = sample_trajectories(
            env,
            self.net,
            n_fresh,
            epsilon=self._epsilon(),
            temperature=cfg.temperature,
            learned_pb=cfg.learned_pb,
            record_rewards=record,
            guided=cfg.forward_looking,
        )
        groups = [traj]
        reference = None
        if n_replay:
            assert self.replay is not None
            forced = self.replay.sample(n_replay, shuffle=cfg.replay_shuffle).to(self.device)
            groups.append(self._replay(forced, record))
        if n_reference:
            assert self.reference_buffer is not None
            reference = self._replay(self.reference_buffer.sample(n_reference), record)
            groups.append(reference)
        loss = self._batch_loss(groups, reference)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.grad_clip)
        self.optimizer.step()
        if cfg.lr_decay_steps and self.step_count + 1 == cfg.lr_decay_steps:
            for group in self.optimizer.param_groups:
                group["lr"] *= cfg.lr_decay
        if self.replay is not None:
            self.replay.add(
                traj.padded_actions(env.max_steps + 1), traj.log_reward, env.key(traj.terminal)
            )
        self.step_count += 1
        self.trajectory_count += n_fresh
        return float(loss.detach()), traj

    def _add_reference(self) -> None:
        """Put the reference source's next graphs into the reference buffer."""
        assert self.reference is not None
        assert self.reference_buffer is not None
        adjacency, _ = self.reference.draw()
        terminal_actions = getattr(self.env, "actions_from_adjacency", None)
        if terminal_actions is None:
            raise InputError(f"{self.env.name} cannot take reference hypotheses")
        actions, _, _ = terminal_actions(adjacency)
        self.reference_buffer.add(actions)

    def train(
        self,
        steps: int | None = None,
        seconds: float | None = None,
        *,
        progress: bool = True,
        callbacks: Iterable[Callback] = (),
    ) -> TrainSummary:
        """Train for ``steps`` optimiser steps and/or ``seconds`` of wall time (whichever first).

        Calls each callback with a :class:`StepMetrics` after every step; a rich progress bar is
        shown when ``progress`` is true. Calling ``train`` again continues where it stopped.
        """
        if steps is None and seconds is None:
            raise InputError("train needs a budget: steps=N and/or seconds=S")
        if steps is not None and (not isinstance(steps, int) or steps < 0):
            raise InputError(f"steps must be an int >= 0, got {steps!r}")
        if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
            raise InputError(f"seconds must be finite and >= 0, got {seconds!r}")
        callbacks = list(callbacks)
        prev_threads = torch.get_num_threads()
        if self.config.num_threads is not None:
            torch.set_num_threads(self.config.num_threads)
        try:
            return self._train_loop(steps, seconds, progress, callbacks)
        finally:
            torch.set_num_threads(prev_threads)

    def _train_loop(
        self, steps: int | None, seconds: float | None, progress: bool, callbacks: list[Callback]
    ) -> TrainSummary:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        cfg = self.config
        self.policy.train()
        start = self.clock.monotonic()
        done_steps, last_loss = 0, float("nan")
        total = steps if steps is not None else None
        bar = Progress(
            TextColumn("[bold]GFlowNet[/bold] {task.description}"),
            BarColumn(),
            TextColumn(
                "{task.completed}/{task.total} steps" if total else "{task.completed} steps"
            ),
            TimeElapsedColumn(),
            disable=not progress,
            transient=False,
        )
        with bar:
            task = bar.add_task(self.env.name, total=total)
            while True:
                elapsed = self.clock.monotonic() - start
                if steps is not None and done_steps >= steps:
                    break
                if seconds is not None and elapsed >= seconds:
                    break
                last_loss, traj = self.train_step()
                done_steps += 1
                if callbacks or progress:
                    metrics = self._step_metrics(last_loss, traj, self.clock.monotonic() - start)
                    for cb in callbacks:
                        cb(metrics)
                    if progress:
                        bar.update(
                            task,
                            advance=1,
                            description=f"loss {last_loss:.3g} logZ {metrics.log_z:.3g}",
                        )
                if not math.isfinite(last_loss):
                    raise InputError(
                        f"training diverged at step {self.step_count} (loss {last_loss}); "
                        "lower lr or check the log-rewards for NaN/-inf"
                    )
        return TrainSummary(
            steps=done_steps,
            trajectories=done_steps * cfg.batch_size,
            seconds=self.clock.monotonic() - start,
            final_loss=last_loss,
            log_z=float(self.log_z.detach()),
            modes=len(self.mode_keys),
        )

    def _step_metrics(self, loss: float, traj: Trajectories, elapsed: float) -> StepMetrics:
        env, cfg = self.env, self.config
        term = traj.terminal
        mode = env.is_mode(term)
        if bool(mode.any()):
            self.mode_keys.update(env.key(term)[mode].tolist())
        l1 = jsd = None
        if cfg.eval_every and env.enumerable and self.step_count % cfg.eval_every == 0:
            l1, jsd = self.exact_metrics()
        return StepMetrics(
            step=self.step_count,
            loss=loss,
            log_z=float(self.log_z.detach()),
            mean_log_reward=float(traj.log_reward.mean()),
            diversity=diversity(env.embed(term)),
            modes=len(self.mode_keys),
            trajectories=self.trajectory_count,
            elapsed_s=elapsed,
            l1=l1,
            jsd=jsd,
        )

    # --- exact evaluation ---------------------------------------------------------------------
    @property
    def exact(self) -> ExactEvaluator:
        """The exact evaluator of an enumerable environment (built once, on first use)."""
        if self._exact is None:
            self._exact = ExactEvaluator(self.env)
        return self._exact

    def exact_distribution(self) -> torch.Tensor:
        """The sampler's exact terminal distribution over ``self.exact.keys`` (enumerable only)."""
        self.policy.eval()
        try:
            return self.exact.terminal_distribution(
                self.net.forward_logits, guided=self.config.forward_looking
            )
        finally:
            self.policy.train()

    def exact_metrics(self) -> tuple[float, float]:
        """``(L1, Jensen–Shannon)`` between the sampler's exact distribution and the target."""
        p = self.exact_distribution()
        q = self.exact.target.to(p.dtype)
        p = p / p.sum()
        return l1_distance(p, q), jensen_shannon(p, q)

    # --- sampling -----------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        num_samples: int,
        initial_state: Any = None,
        *,
        temperature: float = 1.0,
        batch_size: int = 4096,
    ) -> Samples:
        """Sample ``num_samples`` terminal hypotheses (from s0, or completing ``initial_state``)."""
        if not isinstance(num_samples, int) or num_samples < 1:
            raise InputError(f"num_samples must be an int >= 1, got {num_samples!r}")
        if not temperature > 0:
            raise InputError(f"temperature must be > 0, got {temperature!r}")
        start_one = None if initial_state is None else self.env.state_from(initial_state)
        self.policy.eval()
        chunks: list[State] = []
        log_pf: list[torch.Tensor] = []
        try:
            remaining = num_samples
            while remaining > 0:
                n = min(batch_size, remaining)
                start = None if start_one is None else repeat_state(start_one, n)
                terminal, chunk_log_pf = sample_terminal(
                    self.env,
                    self.net,
                    n,
                    temperature=temperature,
                    start=start,
                    guided=self.config.forward_looking,
                )
                chunks.append(terminal)
                log_pf.append(chunk_log_pf)
                remaining -= n
        finally:
            self.policy.train()
        states = {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}
        assert state_batch_size(states) == num_samples
        return Samples(
            states=states,
            log_reward=self.env.log_reward(states),
            keys=self.env.key(states),
            embeddings=self.env.embed(states),
            descriptions=self.env.describe(states),
            log_pf=torch.cat(log_pf),
        )

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write config, environment spec, weights, log Z and optimiser state to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "format": "emily-gflownet-1",
                "config": self.config.model_dump(),
                "env": self.env.spec(),
                "policy": self.policy.state_dict(),
                "log_z": self.log_z.detach().cpu(),
                "optimizer": self._optimizer_state or self.optimizer.state_dict(),
                "step": self.step_count,
                "trajectories": self.trajectory_count,
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path | bytes, env: Environment | None = None) -> GFlowNet:
        """Rebuild a GFlowNet from :meth:`save` (a path, or the file's bytes); the environment
        is rebuilt from the checkpoint unless one is given."""
        from emily.cognition.envs import make_env

        blob, where = read_checkpoint(path, "GFlowNet")
        if blob.get("format") != "emily-gflownet-1":
            raise InputError(f"{where} is not an Emily GFlowNet checkpoint")
        config = GFlowNetConfig.model_validate(blob["config"])
        env = env or make_env(blob["env"], device=config.device)
        net = cls(env, config)
        net.policy.load_state_dict(blob["policy"])
        with torch.no_grad():
            net.log_z.copy_(blob["log_z"].to(net.device))
        net._optimizer_state = blob["optimizer"]  # applied when training resumes
        net.step_count, net.trajectory_count = int(blob["step"]), int(blob["trajectories"])
        return net


def _default_policy(env: Environment, cfg: GFlowNetConfig) -> torch.nn.Module:
    """The network ``cfg.policy`` names, sized for ``env``."""
    stop_bias = initial_stop_bias(env, cfg)
    if cfg.policy == "edge":
        d = getattr(env, "d", None)
        if env.name != "dag" or not isinstance(d, int):
            raise InputError(f"policy 'edge' needs a DAG space, not {env.name!r}; use 'mlp'")
        if cfg.learned_pb:
            raise InputError("policy 'edge' has no backward head: use learned_pb=False")
        return EdgePolicy(d, cfg.hidden, cfg.n_layers, stop_bias=stop_bias)
    return PolicyMLP(
        env.obs_dim,
        env.n_actions,
        cfg.hidden,
        cfg.n_layers,
        learned_pb=cfg.learned_pb,
        stop_bias=stop_bias,
    )


def initial_stop_bias(env: Environment, cfg: GFlowNetConfig) -> float:
    """The stop logit an untrained policy starts with (``cfg.stop_bias``, or the default).

    Why ``log(d - 1)`` on DAG spaces: with every edge logit near 0 and ``A`` edges allowed, the
    sampler stops with probability ``e^b / (e^b + A)`` per step, so its graphs have about
    ``A e^-b`` edges; at 0 that is hundreds at d = 50 (``A = d (d - 1)`` from the empty graph),
    each a network call, and training starts far from posteriors of sparse graphs. ``log(d - 1)``
    gives about ``d`` edges from step 0. The forward-looking guide already prices edges (its
    ``-log(|E| + 1)`` term), so guided policies start at 0.
    """
    if cfg.stop_bias is not None:
        return cfg.stop_bias
    d = getattr(env, "d", None)
    if env.name != "dag" or not isinstance(d, int) or cfg.forward_looking:
        return 0.0
    return math.log(max(d - 1, 1))


TEMPERED_UP_TO = 20
"""Largest ``d`` at which the reference runs :data:`TEMPERED_LADDERS` (ADR 0015, 2026-11-28)."""
TEMPERED_LADDERS = (4, 2, (1.0, 0.9, 0.8, 0.7))
FAR_WALKING_CHAINS = (4, 8, (1.0,))


def reference_layout(d: int) -> tuple[int, int, tuple[float, ...]]:
    """``(chains, rounds, betas)`` of the structure-MCMC reference for ``d`` variables: chains
    sampled, graphs each adds per training step, and the inverse temperatures of each one's
    tempered ladder. Both layouts walk the same MC³ steps per training step (32 chain-rounds,
    half a sweep apart); the tempered one keeps 8 graphs a step, the other 32.

    Why it depends on ``d``: the policy learns mode weights from the reference buffer, which
    holds the chains' recent graphs. At d = 20 (n = 100) plain chains stay in a mode longer than
    the buffer spans (four weighed modes in quarters, sixteen in sixteenths and did better);
    ladders of four rungs, swapping graphs between temperatures, cross between modes, and beat
    sixteen plain chains on all six instances tried (E-SHD 16.93 against 17.55). At d = 50 a
    ladder costs four times the chain steps per graph where the chains already walk too little:
    on one instance it left 60 training steps instead of ~165 and E-SHD 50.3 against 40.2-43.7
    (sixteen plain chains: 45.5-48.5), so above d = 20 four plain chains stay.
    """
    return TEMPERED_LADDERS if d <= TEMPERED_UP_TO else FAR_WALKING_CHAINS


def _default_reference(env: Environment, cfg: GFlowNetConfig) -> ReferenceSource | None:
    """The reference source ``cfg.reference`` names (structure MCMC needs a DAG space)."""
    if cfg.reference == "none":
        return None
    score = getattr(env, "score", None)
    if env.name != "dag" or score is None:
        raise InputError(f"reference 'mcmc' needs a DAG space, not {env.name!r}")
    chains, rounds, betas = reference_layout(int(getattr(env, "d", 0)))
    return MCMCReference(
        score,
        getattr(env, "max_parents", None),
        chains=chains if cfg.reference_chains is None else cfg.reference_chains,
        rounds=rounds if cfg.reference_rounds is None else cfg.reference_rounds,
        betas=betas if cfg.reference_betas is None else cfg.reference_betas,
        burn_in_sweeps=cfg.reference_burn_in,
        seed=cfg.seed,
    )
