"""Cognition tier (System 2): a GFlowNet that samples many plausible hypotheses.

Hypotheses are drawn in proportion to how well they explain the evidence (their reward), not
greedily. Parts: environments (``.envs``), networks (``.estimators``), losses
(``.losses``), samplers (``.samplers``), replay (``.replay``), exact evaluation
(``.exact``), metrics (``.metrics``), variants by name (``.registry``) and Ray scale-out
(``.distributed``). For causal structure: scores (``.scores``), a structure MCMC
(``.mcmc``) that is both a second sampler and the reference the default DAG GFlowNet trains
on (``.reference``), Markov equivalence classes (``.equivalence``) and what a user reads
from a posterior sample: edge marginals, top graphs, exports and plots (``.posterior``).

How they fit: an ``Environment`` defines a space of objects built step by step and their
reward: ``DAGHypotheses`` (causal graphs over a table's columns, rewarded by a ``BGeScore`` for
numbers or a ``BDeuScore`` for categories) or the ``HyperGrid`` benchmark; ``make_env`` rebuilds
one from its saved spec. ``build(env, "v1")`` makes a ``GFlowNet`` of a registered variant
(``variant_names``, ``variant_config``: the flag ``enable_gflownet_v2`` picks between them),
whose ``train`` returns a ``TrainSummary`` and whose ``generate`` returns ``Samples``;
``save``/``load`` checkpoint it for the model registry. ``StructureMCMC`` samples the same DAG
posterior by Markov chain Monte Carlo: a cross-check, and the source of the reference graphs the
default DAG variant trains on off-policy. ``diversity``, ``dag_collapse`` and
``detect_mode_collapse`` say whether a sample still covers many modes (the
``GFlowNetModeCollapse`` alert). The runtime asks this tier for hypotheses when reflexes miss
(``emily.runtime.structure``), on a worker thread, never on the reflex path; ``emily train
--env dag`` and ``emily sample`` run it on a CSV (the structure-learning tutorial).

Public names are imported on first use (PEP 562), so a light module of this package (the
hypothesis-space registry, read by `emily train --help`) loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.cognition.checkpoints import read_checkpoint
    from emily.cognition.data import (
        prepare_for_bdeu,
        prepare_for_bge,
        read_table,
        synthetic_linear_gaussian,
    )
    from emily.cognition.distributed import sweep
    from emily.cognition.envs import DAGHypotheses, Environment, HyperGrid, make_env
    from emily.cognition.envs.registry import (
        HypothesisSpace,
        SpaceOptions,
        hypothesis_space,
        space_names,
        structure_spaces,
    )
    from emily.cognition.gflownet import (
        GFlowNet,
        GFlowNetConfig,
        Samples,
        StepMetrics,
        TrainSummary,
    )
    from emily.cognition.mcmc import MCMCSamples, StructureMCMC
    from emily.cognition.metrics import dag_collapse, detect_mode_collapse, diversity
    from emily.cognition.polish import default_polish_steps, polish_layout, polish_samples
    from emily.cognition.posterior import (
        class_summary,
        edge_auroc,
        edge_marginals,
        expected_shd,
        marginals_payload,
        plot_marginals,
        plot_top_graphs,
        read_graph_csv,
        top_graphs,
        write_dot,
        write_graphml,
        write_marginals,
        write_marginals_csv,
    )
    from emily.cognition.registry import build, variant_config, variant_names
    from emily.cognition.scores import BDeuScore, BGeScore, DecomposableScore

_HOMES = {
    "emily.cognition.checkpoints": ("read_checkpoint",),
    "emily.cognition.data": (
        "prepare_for_bdeu", "prepare_for_bge", "read_table", "synthetic_linear_gaussian",
    ),
    "emily.cognition.distributed": ("sweep",),
    "emily.cognition.envs": ("DAGHypotheses", "Environment", "HyperGrid", "make_env"),
    "emily.cognition.envs.registry": (
        "HypothesisSpace", "SpaceOptions", "hypothesis_space", "space_names", "structure_spaces",
    ),
    "emily.cognition.gflownet": (
        "GFlowNet", "GFlowNetConfig", "Samples", "StepMetrics", "TrainSummary",
    ),
    "emily.cognition.mcmc": ("MCMCSamples", "StructureMCMC"),
    "emily.cognition.metrics": ("dag_collapse", "detect_mode_collapse", "diversity"),
    "emily.cognition.polish": ("default_polish_steps", "polish_layout", "polish_samples"),
    "emily.cognition.posterior": (
        "class_summary", "edge_auroc", "edge_marginals", "expected_shd", "marginals_payload",
        "plot_marginals", "plot_top_graphs", "read_graph_csv", "top_graphs", "write_dot",
        "write_graphml", "write_marginals", "write_marginals_csv",
    ),
    "emily.cognition.registry": ("build", "variant_config", "variant_names"),
    "emily.cognition.scores": ("BDeuScore", "BGeScore", "DecomposableScore"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "BDeuScore",
    "BGeScore",
    "DAGHypotheses",
    "DecomposableScore",
    "Environment",
    "GFlowNet",
    "GFlowNetConfig",
    "HyperGrid",
    "HypothesisSpace",
    "MCMCSamples",
    "Samples",
    "SpaceOptions",
    "StepMetrics",
    "StructureMCMC",
    "TrainSummary",
    "build",
    "class_summary",
    "dag_collapse",
    "default_polish_steps",
    "detect_mode_collapse",
    "diversity",
    "edge_auroc",
    "edge_marginals",
    "expected_shd",
    "hypothesis_space",
    "make_env",
    "marginals_payload",
    "plot_marginals",
    "plot_top_graphs",
    "polish_layout",
    "polish_samples",
    "prepare_for_bdeu",
    "prepare_for_bge",
    "read_checkpoint",
    "read_graph_csv",
    "read_table",
    "space_names",
    "structure_spaces",
    "sweep",
    "synthetic_linear_gaussian",
    "top_graphs",
    "variant_config",
    "variant_names",
    "write_dot",
    "write_graphml",
    "write_marginals",
    "write_marginals_csv",
]
