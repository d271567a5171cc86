"""Emily Sovereign: a self-hosted runtime for a triune cognitive architecture.

The package is organised by tier: ``nervous_system`` (attention gating and regulation),
``instinct`` (hyperdimensional reflexes), ``cognition`` (GFlowNet hypotheses), ``memory``
(episodic, semantic and reflexive stores), ``runtime`` (the loop that joins them) and
``ops`` (tracking, rollout, backups). ``core`` holds the house conventions every tier uses.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("emily-sovereign")
except PackageNotFoundError:  # pragma: no cover - only when run from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
