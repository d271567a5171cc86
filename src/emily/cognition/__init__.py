"""Cognition tier (System 2): a GFlowNet that samples many plausible hypotheses.

Hypotheses are drawn in proportion to how well they explain the evidence (their reward), not
greedily. Parts: environments (:mod:`.envs`), networks (:mod:`.estimators`), losses
(:mod:`.losses`), samplers (:mod:`.samplers`), replay (:mod:`.replay`), exact evaluation
(:mod:`.exact`), metrics (:mod:`.metrics`), variants by name (:mod:`.registry`) and Ray scale-out
(:mod:`.distributed`). For causal structure: scores (:mod:`.scores`), a structure MCMC
(:mod:`.mcmc`) that is both a second sampler and the reference the default DAG GFlowNet trains
on (:mod:`.reference`), Markov equivalence classes (:mod:`.equivalence`) and what a user reads
from a posterior sample: edge marginals, top graphs, exports and plots (:mod:`.posterior`).
"""

from emily.cognition.envs import DAGHypotheses, Environment, HyperGrid, make_env
from emily.cognition.gflownet import GFlowNet, GFlowNetConfig, Samples, StepMetrics, TrainSummary
from emily.cognition.mcmc import MCMCSamples, StructureMCMC
from emily.cognition.metrics import dag_collapse, detect_mode_collapse, diversity
from emily.cognition.registry import build, variant_config, variant_names
from emily.cognition.scores import BDeuScore, BGeScore

__all__ = [
    "BDeuScore",
    "BGeScore",
    "DAGHypotheses",
    "Environment",
    "GFlowNet",
    "GFlowNetConfig",
    "HyperGrid",
    "MCMCSamples",
    "Samples",
    "StepMetrics",
    "StructureMCMC",
    "TrainSummary",
    "build",
    "dag_collapse",
    "detect_mode_collapse",
    "diversity",
    "make_env",
    "variant_config",
    "variant_names",
]
