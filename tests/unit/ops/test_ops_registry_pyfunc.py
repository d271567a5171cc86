"""The pyfunc contract of the GFlowNet: a table of ``n`` (and ``seed``) in, hypotheses out."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from emily.cognition import GFlowNet, GFlowNetConfig, HyperGrid
from emily.core import InputError
from emily.ops.registry._pyfunc import MAX_SAMPLES, OUTPUT_COLUMNS, sample_hypotheses


@pytest.fixture(scope="module")
def net() -> GFlowNet:
    return GFlowNet(HyperGrid(ndim=2, height=4), GFlowNetConfig(hidden=16))


def test_each_request_gets_its_distinct_hypotheses_most_drawn_first(net: GFlowNet) -> None:
    out = sample_hypotheses(net, pd.DataFrame({"n": [200, 5], "seed": [1, 2]}))
    assert tuple(out.columns) == OUTPUT_COLUMNS
    numeric = out.drop(columns="hypothesis").dtypes
    assert [str(t) for t in numeric] == ["int64", "int64", "float64", "float64"]
    for request, n in enumerate((200, 5)):
        rows = out[out["request"] == request]
        assert rows["count"].sum() == n
        assert rows["share"].tolist() == pytest.approx((rows["count"] / n).tolist())
        assert rows["count"].is_monotonic_decreasing
        cells = [tuple(json.loads(h)) for h in rows["hypothesis"]]
        assert len(set(cells)) == len(cells)
        assert all(len(c) == 2 and all(0 <= x < 4 for x in c) for c in cells)


def test_a_seed_fixes_the_draw_and_leaves_unseeded_draws_alone(net: GFlowNet) -> None:
    import torch

    seeded = pd.DataFrame({"n": [64], "seed": [3]})
    first = sample_hypotheses(net, seeded)
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    second = sample_hypotheses(net, seeded)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG was not touched
    pd.testing.assert_frame_equal(first, second)
    gap = sample_hypotheses(net, pd.DataFrame({"n": [64, 64], "seed": [3.0, float("nan")]}))
    pd.testing.assert_frame_equal(gap[gap["request"] == 0], first)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"samples": [3]}), "a table with a column `n`"),
        (pd.DataFrame({"n": [0]}), "row 0: n must be an integer in 1..100000, got 0"),
        (pd.DataFrame({"n": [4, MAX_SAMPLES + 1]}), "row 1: n must be an integer in 1..100000"),
        (pd.DataFrame({"n": [2.5]}), "row 0: n must be an integer"),
        (pd.DataFrame({"n": ["many"]}), "row 0: n must be an integer"),
        (pd.DataFrame({"n": [3], "seed": [-1]}), "row 0: seed must be an integer >= 0, got -1"),
    ],
)
def test_bad_requests_are_refused_with_the_row_and_the_rule(
    net: GFlowNet, table: pd.DataFrame, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as caught:
        sample_hypotheses(net, table)
    assert "\n" not in str(caught.value)
