"""Cognition for a stimulus stream: which causal structures explain the recent stimuli?

When reflexes miss, the runtime asks System 2 for hypotheses. For numeric stimuli the natural
hypothesis space is causal structure: DAGs over (a few of) the measured features, scored by the
BGe marginal likelihood of the recent window, sampled by a GFlowNet in proportion to their
posterior (ADR 0006). Each request trains briefly on the window's reward and returns the most
sampled graphs with their shares, the sample diversity (descriptive only: a correct sampler of
a sharp posterior has little) and a collapse flag from
:func:`~emily.cognition.metrics.dag_collapse`: set only when the samples sit on a few DAGs of a
Markov equivalence class instead of spreading evenly over its members, as the posterior does
(the score and prior give every member the same mass). Most small windows leave that
undetermined (no class sampled often enough), and then the flag stays down. With a
champion model (``models:/NAME@champion``, trained by ``emily train --env dag --demo`` or on
the same columns) each request starts from the champion's policy and log Z instead of from
scratch: the window's data shifts the reward, but a policy trained on the same variables is a
far better start than random weights. It runs in the cognition worker's process, so it holds
no clock or lock (it must pickle); the worker times it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from emily.cognition import BGeScore, DAGHypotheses, GFlowNet, build
from emily.cognition.metrics import dag_collapse, diversity
from emily.core import InputError, SovereignModel
from emily.runtime.loop import Hypothesis, HypothesisBatch
from emily.runtime.stimuli import Stimulus


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
            used when there is no ``model``.
        model: A registered champion to warm-start every request from (see
            :func:`check_compatible`); ``None`` trains from scratch.
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
    ) -> None:
        if not 2 <= len(features) <= 6:
            raise InputError(f"model 2 to 6 features, got {len(features)}")
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

        ``NAME vVERSION (variant)`` of the registered model, or ``variant V from scratch``.
        """
        if self.model is not None:
            return self.model.label
        return f"variant {self.variant} from scratch"

    def start(self, env: DAGHypotheses) -> GFlowNet:
        """The GFlowNet a request trains on ``env``: the champion's weights, log Z and
        hyper-parameters when there is one, else a fresh network of ``variant``."""
        if self.model is not None:
            return GFlowNet.load(self.model.checkpoint, env=env)
        return build(env, self.variant, seed=self.seed, batch_size=16)

    def _table(self, window: Sequence[Stimulus]) -> pd.DataFrame:
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

    def hypothesise(self, window: Sequence[Stimulus]) -> HypothesisBatch:
        env = DAGHypotheses(BGeScore(self._table(window)))
        gfn = self.start(env)
        gfn.train(steps=self.train_steps, progress=False)
        sample = gfn.generate(self.samples)
        counts = Counter(_describe(edges) for edges in sample.descriptions)
        log_reward = {
            _describe(edges): float(r)
            for edges, r in zip(sample.descriptions, sample.log_reward.tolist(), strict=True)
        }
        collapse = dag_collapse(sample.states["adj"], max_parents=env.max_parents, seed=self.seed)
        return HypothesisBatch(
            stimulus_ids=tuple(s.id for s in window[-self.min_window :]),
            hypotheses=tuple(
                Hypothesis(description=d, share=n / len(sample), log_reward=log_reward[d])
                for d, n in counts.most_common(self.top)
            ),
            diversity=diversity(sample.embeddings.float()),
            mode_collapse=collapse.collapsed,
            latency_s=0.0,  # the worker measures it on the runtime's clock
        )
