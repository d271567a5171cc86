"""The edge-focused MH polish's fast checks: zero steps change nothing, bad arguments are refused.

The statistical checks (from far-off starts the polished draws reach the exact posterior) are in
``tests/integration/cognition/test_cognition_polish_exact.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from emily.cognition.data import synthetic_linear_gaussian
from emily.cognition.polish import EdgeMH
from emily.cognition.scores import BGeScore
from emily.core.errors import InputError


def test_zero_steps_returns_the_input_and_bad_arguments_are_refused() -> None:
    data, _ = synthetic_linear_gaussian(d=3, seed=0, n=100)
    score = BGeScore(data)
    adj = np.zeros((2, 3, 3), dtype=bool)
    adj[0, 0, 1] = True
    assert np.array_equal(EdgeMH(score).run(adj, 0).adjacency, adj)
    with pytest.raises(InputError):
        EdgeMH(score).run(adj, -1)
    with pytest.raises(InputError):
        EdgeMH(score).run(np.zeros((2, 4, 4), dtype=bool), 1)
    with pytest.raises(InputError):
        EdgeMH(score, mix=(0.5, 0.5, 0.0))
    with pytest.raises(InputError):
        EdgeMH(score, max_parents=3)
