"""Stable hashing: the same key always lands in the same bucket and variant."""

from __future__ import annotations

import pytest

from emily.core import InputError
from emily.ops.rollout import BUCKETS, assign_variant, in_percentage, stable_bucket


def test_bucket_is_a_fixed_function_of_key_and_salt() -> None:
    # Pinned values: a change here would reshuffle every running experiment.
    assert stable_bucket("alice", salt="exp") == stable_bucket("alice", salt="exp")
    assert 0 <= stable_bucket("alice", salt="exp") < BUCKETS
    assert stable_bucket("alice", salt="exp") != stable_bucket("alice", salt="other")


def test_bucket_rejects_zero_buckets() -> None:
    with pytest.raises(InputError, match="buckets"):
        stable_bucket("k", salt="s", buckets=0)


def test_percentage_edges() -> None:
    keys = [f"user-{i}" for i in range(500)]
    assert not any(in_percentage(k, salt="s", percent=0.0) for k in keys)
    assert all(in_percentage(k, salt="s", percent=100.0) for k in keys)
    share = sum(in_percentage(k, salt="s", percent=10.0) for k in keys) / len(keys)
    assert 0.05 < share < 0.15
    with pytest.raises(InputError, match="percent"):
        in_percentage("k", salt="s", percent=101.0)


def test_assign_variant_splits_by_weight() -> None:
    keys = [f"k{i}" for i in range(2000)]
    got = [assign_variant(k, salt="ab", weights={"A": 0.8, "B": 0.2}) for k in keys]
    assert 0.75 < got.count("A") / len(got) < 0.85
    assert {assign_variant(k, salt="ab", weights={"A": 0, "B": 1}) for k in keys} == {"B"}


@pytest.mark.parametrize("weights", [{}, {"A": -1.0, "B": 2.0}, {"A": 0.0}])
def test_assign_variant_rejects_bad_weights(weights: dict[str, float]) -> None:
    with pytest.raises(InputError, match="weights"):
        assign_variant("k", salt="s", weights=weights)
