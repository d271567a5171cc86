"""Cognition for a stimulus stream: which causal structures explain the recent stimuli?

When reflexes miss, the runtime asks System 2 for hypotheses. For numeric stimuli the natural
hypothesis space is causal structure: DAGs over (a few of) the measured features, scored by the
BGe marginal likelihood of the recent window, sampled in proportion to their posterior
(ADR 0006). Without a trained model each request runs a structure MCMC (MC³) on the window: in
a check on exact posteriors over four variables (windows of 30 and 200 rows, three seeds) a
GFlowNet trained from scratch for the default 150 steps took 2-5 s and missed the exact edge
marginals by 0.29-0.35 on average in four of six windows, while MC³ took under 0.1 s and missed
by 0.01-0.04, the noise of 256 exact draws (``sampler="gflownet"`` keeps the old behaviour).
With a champion model (``models:/NAME@champion``, trained by ``emily train --env dag --demo``
or on the same columns) each request trains a GFlowNet starting from the champion's policy and
log Z: the window's data shifts the reward, but a policy trained on the same variables is a far
better start than random weights.

Each request returns the most sampled graphs with their shares, the sample diversity
(descriptive only: a correct sampler of a sharp posterior has little) and a collapse flag from
:func:`~emily.cognition.metrics.dag_collapse`: set only when the samples sit on a few DAGs of a
Markov equivalence class instead of spreading evenly over its members, as the posterior does
(the score and prior give every member the same mass). Most small windows leave that
undetermined (no class sampled often enough), and then the flag stays down. It runs in the
cognition worker's process, so it holds no clock or lock (it must pickle); the worker times it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from emily.core import InputError, SovereignModel
from emily.runtime.cognition_worker import Hypothesis, HypothesisBatch
from emily.runtime.stimuli import Stimulus

if TYPE_CHECKING:  # torch, pandas, SciPy: only the sampler's process needs them (see below)
    import pandas as pd

    from emily.cognition import DAGHypotheses, GFlowNet

SAMPLER_MODULES = (
    "emily.runtime.structure",
    "emily.cognition",
    "emily.cognition.mcmc",
    "emily.cognition.metrics",
    "pandas",
    "torch",
)
"""What a request imports, in the sampler's process only: ``emily run`` builds this source in
its own process and pickles it to the sampler, so importing them here at module level cost the
run's start-up 10 s or more on a loaded machine for nothing (``cognition_worker.prestart``
imports them in the sampler's process instead, while the run starts)."""

Sampler = Literal["mcmc", "gflownet"]
NO_MODEL_SAMPLER = "structure MCMC (no training)"
"""What cognition runs on when no trained model is registered (the default sampler then)."""
MCMC_THIN_SWEEPS = 4
"""MC³ steps per chain between kept graphs, in sweeps of the ``d (d - 1)`` ordered pairs: at
four variables one sweep left edge-marginal errors up to 0.065 against the exact posterior, four
sweeps about 0.02 (the noise of 256 exact draws), for a few milliseconds."""
QUICK_TRAIN_STEPS = 20
"""GFlowNet steps of a run's first, quick batch (``quick``): a warm-started champion already
samples sensibly; the full ``train_steps`` refine the batches after it."""
QUICK_SAMPLES = 64
"""Hypotheses sampled by the first, quick batch (a quarter of the default)."""


def _describe(edges: list[tuple[str, str]]) -> str:
    return ", ".join(f"{a}→{b}" for a, b in edges) if edges else "(independent)"


class CognitionModel(SovereignModel):
    """A registered GFlowNet the runtime's cognition starts from."""

    name: str
    version: str
    variant: str
    checkpoint: bytes

    @property
    def label(self) -> str:
        """``NAME vVERSION (variant)``, as the live view shows it."""
        return f"{self.name} v{self.version} ({self.variant})"


def check_compatible(checkpoint: bytes, features: Sequence[str]) -> str:
    """The checkpoint's variant if it models DAGs over exactly ``features``; else InputError."""
    import io

    import torch

    blob = torch.load(io.BytesIO(checkpoint), map_location="cpu", weights_only=True)
    env = blob.get("env", {}) if isinstance(blob, dict) else {}
    if env.get("kind") != "dag":
        raise InputError(f"it models {env.get('kind')!r} hypotheses, not causal DAGs")
    columns = list(env.get("score", {}).get("columns", []))
    if columns != list(features):
        raise InputError(f"it models DAGs over {columns}, not over {list(features)}")
    return str(blob["config"].get("variant", "v1"))


class CausalStructureSource:
    """DAG hypotheses over ``features`` from the numeric stimuli in a window.

    Args:
        features: Feature names to model (2–6: the hypothesis space grows super-exponentially).
        train_steps: GFlowNet optimiser steps per request.
        samples: Hypotheses sampled per request.
        top: How many distinct graphs to report.
        variant: GFlowNet variant name (``v1``/``v2``; see ``emily.cognition.registry``),
            used by ``sampler="gflownet"`` when there is no ``model``.
        model: A registered champion to warm-start every request from (see
            :func:`check_compatible`).
        sampler: ``"mcmc"`` (structure MCMC, no training) or ``"gflownet"``; by default
            ``"gflownet"`` with a ``model`` and ``"mcmc"`` without one (see the module docstring
            for why). A ``model`` needs ``"gflownet"``: MCMC would ignore it.
    """

    def __init__(
        self,
        features: Sequence[str],
        *,
        train_steps: int = 150,
        samples: int = 256,
        top: int = 5,
        variant: str = "v1",
        min_window: int = 8,
        seed: int = 0,
        model: CognitionModel | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        if not 2 <= len(features) <= 6:
            raise InputError(f"model 2 to 6 features, got {len(features)}")
        if sampler is None:
            sampler = "mcmc" if model is None else "gflownet"
        if sampler not in ("mcmc", "gflownet"):
            raise InputError(f"sampler must be 'mcmc' or 'gflownet', got {sampler!r}")
        if sampler == "mcmc" and model is not None:
            raise InputError(f"{model.label} is a GFlowNet: sampler='mcmc' would ignore it")
        self.sampler: Sampler = sampler
        if model is not None:
            try:
                check_compatible(model.checkpoint, features)
            except InputError as exc:
                raise InputError(f"cannot start cognition from {model.label}: {exc}") from None
        self.model = model
        self.features = list(features)
        self.train_steps, self.samples, self.top = train_steps, samples, top
        self.variant, self.min_window, self.seed = variant, min_window, seed

    @property
    def starts_from(self) -> str:
        """What each request starts from, for logs and the live view.

        ``NAME vVERSION (variant)`` of the registered model, ``structure MCMC (no training)``,
        or ``variant V from scratch``.
        """
        if self.model is not None:
            return self.model.label
        if self.sampler == "mcmc":
            return NO_MODEL_SAMPLER
        return f"variant {self.variant} from scratch"

    def quick(self) -> CausalStructureSource:
        """This source at a fraction of the cost, for the first batch of a run (see
        ``runtime.cognition_worker``): fewer training steps and samples, same model and seed."""
        return CausalStructureSource(
            self.features,
            train_steps=min(self.train_steps, QUICK_TRAIN_STEPS),
            samples=min(self.samples, QUICK_SAMPLES),
            top=self.top,
            variant=self.variant,
            min_window=self.min_window,
            seed=self.seed,
            model=self.model,
            sampler=self.sampler,
        )

    def warm_up(self) -> None:
        """Load what a request needs, in the sampler's process, before the first miss: the
        modules (imported by unpickling this source) and the first call of each kernel, on a
        synthetic window (for a GFlowNet: a load of the champion and two training steps)."""
        rng = np.random.default_rng(self.seed)
        window = [
            Stimulus(
                id=f"warm-up-{i}", features=dict(zip(self.features, row.tolist(), strict=True))
            )
            for i, row in enumerate(rng.normal(size=(max(self.min_window, 8), len(self.features))))
        ]
        warm = self.quick()
        warm.train_steps = min(warm.train_steps, 2)
        warm.samples = min(warm.samples, 8)
        warm.hypothesise(window)

    def start(self, env: DAGHypotheses) -> GFlowNet:
        """The GFlowNet a request trains on ``env``: the champion's weights, log Z and
        hyper-parameters when there is one, else a fresh network of ``variant``."""
        from emily.cognition import GFlowNet, build

        if self.model is not None:
            return GFlowNet.load(self.model.checkpoint, env=env)
        return build(env, self.variant, seed=self.seed, batch_size=16)

    def _table(self, window: Sequence[Stimulus]) -> pd.DataFrame:
        import pandas as pd

        rows = [
            [float(s.features[f]) for f in self.features]
            for s in window
            if s.features is not None
            and all(isinstance(s.features.get(f), float) for f in self.features)
        ]
        if len(rows) < self.min_window:
            raise InputError(
                f"need {self.min_window} numeric stimuli with features {self.features}, "
                f"got {len(rows)}"
            )
        table = np.asarray(rows)
        spread = table.std(axis=0)
        spread[spread == 0] = 1.0
        return pd.DataFrame((table - table.mean(axis=0)) / spread, columns=self.features)

    def _gflownet(self, env: DAGHypotheses) -> tuple[np.ndarray, np.ndarray]:
        gfn = self.start(env)
        gfn.train(steps=self.train_steps, progress=False)
        sample = gfn.generate(self.samples)
        return sample.states["adj"].cpu().numpy(), sample.log_reward.cpu().double().numpy()

    def _mcmc(self, env: DAGHypotheses) -> tuple[np.ndarray, np.ndarray]:
        from emily.cognition import StructureMCMC

        mcmc = StructureMCMC(env.score, env.max_parents, chains=4, seed=self.seed)
        draws = mcmc.sample(self.samples, thin=MCMC_THIN_SWEEPS * env.d * (env.d - 1))
        # The environment's log-reward is the log posterior minus the empty graph's constant.
        return draws.adjacency, draws.log_score - env.empty_score

    def hypothesise(self, window: Sequence[Stimulus]) -> HypothesisBatch:
        import torch

        from emily.cognition import BGeScore, DAGHypotheses, dag_collapse, diversity

        env = DAGHypotheses(BGeScore(self._table(window)))
        draw = self._mcmc if self.sampler == "mcmc" else self._gflownet
        adjacency, log_rewards = draw(env)
        names = [
            _describe([(self.features[i], self.features[j]) for i, j in np.argwhere(a)])
            for a in adjacency
        ]
        counts = Counter(names)
        log_reward = dict(zip(names, log_rewards.tolist(), strict=True))
        collapse = dag_collapse(adjacency, max_parents=env.max_parents, seed=self.seed)
        embeddings = torch.as_tensor(adjacency.reshape(len(adjacency), -1)).float()
        return HypothesisBatch(
            stimulus_ids=tuple(s.id for s in window[-self.min_window :]),
            hypotheses=tuple(
                Hypothesis(description=d, share=n / len(names), log_reward=log_reward[d])
                for d, n in counts.most_common(self.top)
            ),
            diversity=diversity(embeddings),
            mode_collapse=collapse.collapsed,
            latency_s=0.0,  # the worker measures it on the runtime's clock
        )
