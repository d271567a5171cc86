"""Names of registered models the runtime looks for, apart from the code that loads them.

Why a module of its own: the CLI names the default model in ``--help``, and importing the
loader for that (MLflow, torch) cost every ``emily`` command seconds at start.
"""

from __future__ import annotations

DEFAULT_MODEL = "emily-gflownet"
"""The registered cognition model ``emily run`` and ``emily serve`` warm-start from."""
