"""Cognition for a stimulus stream: which causal structures explain the recent stimuli?

When reflexes miss, the runtime asks System 2 for hypotheses. For numeric stimuli the natural
hypothesis space is causal structure: DAGs over (a few of) the measured features, scored by the
BGe marginal likelihood of the recent window, sampled by a GFlowNet in proportion to their
posterior (ADR 0006). Each request trains briefly (warm-starting is not possible: the data and
so the reward change) and returns the most sampled graphs with their shares, the sample
diversity and a mode-collapse flag. It runs in the cognition worker's process, so it holds
no clock or lock (it must pickle); the worker times it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from emily.cognition import BGeScore, DAGHypotheses, build, detect_mode_collapse
from emily.core import InputError
from emily.runtime.loop import Hypothesis, HypothesisBatch
from emily.runtime.stimuli import Stimulus


def _describe(edges: list[tuple[str, str]]) -> str:
    return ", ".join(f"{a}→{b}" for a, b in edges) if edges else "(independent)"


class CausalStructureSource:
    """DAG hypotheses over ``features`` from the numeric stimuli in a window.

    Args:
        features: Feature names to model (2–6: the hypothesis space grows super-exponentially).
        train_steps: GFlowNet optimiser steps per request.
        samples: Hypotheses sampled per request.
        top: How many distinct graphs to report.
        variant: GFlowNet variant name (``v1``/``v2``; see ``emily.cognition.registry``).
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
    ) -> None:
        if not 2 <= len(features) <= 6:
            raise InputError(f"model 2 to 6 features, got {len(features)}")
        self.features = list(features)
        self.train_steps, self.samples, self.top = train_steps, samples, top
        self.variant, self.min_window, self.seed = variant, min_window, seed

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
        gfn = build(env, self.variant, seed=self.seed, batch_size=16)
        gfn.train(steps=self.train_steps, progress=False)
        sample = gfn.generate(self.samples)
        counts = Counter(_describe(edges) for edges in sample.descriptions)
        log_reward = {
            _describe(edges): float(r)
            for edges, r in zip(sample.descriptions, sample.log_reward.tolist(), strict=True)
        }
        collapse = detect_mode_collapse(sample.embeddings.float())
        return HypothesisBatch(
            stimulus_ids=tuple(s.id for s in window[-self.min_window :]),
            hypotheses=tuple(
                Hypothesis(description=d, share=n / len(sample), log_reward=log_reward[d])
                for d, n in counts.most_common(self.top)
            ),
            diversity=collapse.diversity,
            mode_collapse=collapse.collapsed,
            latency_s=0.0,  # the worker measures it on the runtime's clock
        )
