"""Hypothesis spaces by name: one registration makes a space trainable, reloadable and plotted.

Why a registry: ``emily train --env NAME``, a checkpoint's ``env.spec()["kind"]`` and the default
GFlowNet variant all name a space. Each used to be an if-chain of its own (a CLI enum, the
checkpoint loader, the default-variant table, the DAG-only flags and plots), so a new space meant
editing four places. Now a space is one :class:`HypothesisSpace` passed to :func:`register_space`;
the CLI's ``--env`` choices and help, :func:`make_env` (checkpoints) and the default variant are
read from here.

Light on purpose: this module imports neither torch nor the environments (``emily train --help``
reads the names and summaries and must start in well under a second); each entry's builders
import their environment when called.

Example:
    >>> from emily.cognition.envs.registry import hypothesis_space, space_names
    >>> space_names()[:2]
    ['hypergrid', 'dag']
    >>> hypothesis_space("dag").default_variant
    'dag'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emily.cognition.named import Registry
from emily.core.errors import InputError

if TYPE_CHECKING:
    import torch

    from emily.cognition.envs.base import Environment

    Device = str | torch.device

REFERENCE_CHAINS = 4
"""Chains of the structure-MCMC reference drawn for DAG plots (pooled; more chains, less
dependence on one start)."""


@dataclass(frozen=True)
class SpaceOptions:
    """What ``emily train`` (or a config) says about the space to build.

    Every space reads the fields it needs and ignores the rest: ``ndim``/``height`` shape a
    HyperGrid, ``nodes``/``max_parents`` a DAG space, and ``score`` is the data score the CLI
    built from ``--data``/``--score``/``--prior`` for spaces that declare ``structure=True``.
    """

    ndim: int = 4
    height: int = 8
    nodes: int = 4
    max_parents: int | None = None
    seed: int = 0
    score: Any = None  # a DecomposableScore for structure spaces, else None


@dataclass(frozen=True)
class HypothesisSpace:
    """One hypothesis space, as every caller of the registry needs it.

    Attributes:
        name: What ``--env`` takes; must equal the environment's ``name`` and its spec's
            ``"kind"`` (that is how a checkpoint finds its entry again).
        summary: One line for ``emily train --help``.
        from_options: Builds the space from the train command's options.
        from_spec: Rebuilds the space from ``env.spec()`` on a device (checkpoints, Ray
            workers); :func:`by_keywords` covers specs that are the constructor's arguments.
        default_variant: The GFlowNet variant ``emily train`` uses when none is named.
        structure: Hypotheses are causal graphs over a data table's columns (the DAG space):
            the space takes ``--data``/``--score``/``--prior``, may be sampled by structure MCMC
            and gets the edge-marginal summaries and plots. Other spaces refuse those flags.
        reference: Where the space is too large for the exact target, draws ``n`` hypotheses
            from the target by another sampler (described as ``env.describe`` describes them;
            arguments ``env, n, seed``): the reference a run's hypothesis plot is drawn against.
            ``None``: no such sampler (the plot shows the samples alone). Enumerable spaces
            (``env.enumerable``) are plotted against their exact target instead.
        reference_name: The plot's name for that reference.
    """

    name: str
    summary: str
    from_options: Callable[[SpaceOptions], Environment]
    from_spec: Callable[[Mapping[str, Any], Device], Environment]
    default_variant: str = "v1"
    structure: bool = False
    reference: Callable[[Environment, int, int], Sequence[Any]] | None = None
    reference_name: str = "reference"


SPACES: Registry[HypothesisSpace] = Registry("hypothesis space")
"""The registered spaces (use :func:`register_space` to add one)."""


def register_space(space: HypothesisSpace, *, replace: bool = False) -> HypothesisSpace:
    """Add ``space`` to the registry (``replace=True`` to redefine a name); returns it."""
    if not space.name or not space.name.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"a space name is letters, digits, '-' and '_': got {space.name!r}")
    return SPACES.add(space.name, space, replace=replace)


def space_names() -> list[str]:
    """Registered space names, in registration order (the built-in ones first)."""
    return SPACES.names()


def hypothesis_space(name: str) -> HypothesisSpace:
    """The registered space ``name``."""
    return SPACES.get(name)


def make_env(spec: Mapping[str, Any], device: Device = "cpu") -> Environment:
    """Rebuild an environment from its ``spec()`` (the ``"kind"`` names its space)."""
    kind = spec.get("kind")
    space = SPACES.find(kind) if isinstance(kind, str) else None
    if space is None:
        expected = " or ".join(repr(n) for n in space_names())
        raise InputError(f"unknown environment kind {kind!r}; expected {expected}")
    return space.from_spec(spec, device)


def by_keywords(
    build: Callable[..., Environment],
) -> Callable[[Mapping[str, Any], Device], Environment]:
    """A ``from_spec`` for a space whose spec is its constructor's keyword arguments (plus
    ``"kind"``), e.g. ``by_keywords(HyperGrid)``."""

    def from_spec(spec: Mapping[str, Any], device: Device) -> Environment:
        return build(**{k: v for k, v in spec.items() if k != "kind"}, device=device)

    return from_spec


def structure_spaces() -> list[str]:
    """Names of the spaces that take a data table (``structure=True``)."""
    return [name for name in SPACES if SPACES.get(name).structure]


# --- the built-in spaces -----------------------------------------------------------------------
def _hypergrid(**kwargs: Any) -> Environment:
    from emily.cognition.envs.hypergrid import HyperGrid

    return HyperGrid(**kwargs)


def _hypergrid_from_options(options: SpaceOptions) -> Environment:
    return _hypergrid(ndim=options.ndim, height=options.height)


def _dag_from_options(options: SpaceOptions) -> Environment:
    from emily.cognition.envs.dag import DAGHypotheses

    if options.score is None:
        raise InputError("a DAG space needs a data score (--data, --demo or synthetic data)")
    return DAGHypotheses(options.score, max_parents=options.max_parents)


def _dag_from_spec(spec: Mapping[str, Any], device: Device) -> Environment:
    from emily.cognition.envs.dag import DAGHypotheses
    from emily.cognition.scores import score_from_spec

    return DAGHypotheses(score_from_spec(spec["score"]), spec["max_parents"], device=device)


def _dag_reference(env: Environment, n: int, seed: int) -> Sequence[Any]:
    """``n`` graphs of structure MCMC on the env's own score, prior and ``max_parents``: cheap by
    design (the default burn-in, 20 sweeps, and a thin of ``d`` steps; a second or two at
    d = 20), seeded, so a rerun draws the same reference."""
    import torch

    from emily.cognition.envs.dag import DAGHypotheses
    from emily.cognition.mcmc import StructureMCMC

    if not isinstance(env, DAGHypotheses):
        raise InputError(f"the MCMC reference samples DAG spaces, not {env.name!r}")
    mcmc = StructureMCMC(env.score, env.max_parents, chains=REFERENCE_CHAINS, seed=seed)
    drawn = mcmc.sample(n, thin=env.d)
    return env.describe({"adj": torch.from_numpy(drawn.adjacency)})


register_space(
    HypothesisSpace(
        name="hypergrid",
        summary="the HyperGrid benchmark (--ndim, --height)",
        from_options=_hypergrid_from_options,
        from_spec=by_keywords(_hypergrid),
        default_variant="v1",
    )
)
register_space(
    HypothesisSpace(
        name="dag",
        summary="causal graphs over a table's columns (--data, --score, --prior)",
        from_options=_dag_from_options,
        from_spec=_dag_from_spec,
        default_variant="dag",
        structure=True,
        reference=_dag_reference,
        reference_name="MCMC reference",
    )
)
