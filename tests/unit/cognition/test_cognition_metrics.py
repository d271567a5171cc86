"""Diversity, mode collapse, distances between distributions, edge marginals."""

from __future__ import annotations

import math

import pytest
import torch

from emily.cognition.metrics import (
    detect_mode_collapse,
    distinct_modes,
    diversity,
    edge_marginal_error,
    edge_marginals,
    empirical_distribution,
    jensen_shannon,
    l1_distance,
)
from emily.core.errors import InputError


def test_diversity_of_identical_and_opposite_samples() -> None:
    same = torch.zeros(10, 4)
    assert diversity(same) == 0.0
    opposite = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert diversity(opposite) == pytest.approx(1.0)
    assert diversity(torch.zeros(1, 3)) == 0.0
    big = torch.rand(5000, 3, generator=torch.Generator().manual_seed(0))
    assert diversity(big) == pytest.approx(1 / 3, abs=0.02)  # E|U - V| = 1/3


def test_mode_collapse_detection_uses_threshold() -> None:
    collapsed = detect_mode_collapse(torch.zeros(8, 2))
    assert collapsed.collapsed
    assert collapsed.threshold == 0.3
    spread = detect_mode_collapse(torch.tensor([[0.0], [1.0]] * 4))
    assert not spread.collapsed
    assert detect_mode_collapse(torch.tensor([[0.0], [0.5]]), threshold=0.9).collapsed
    with pytest.raises(InputError, match="threshold"):
        detect_mode_collapse(torch.zeros(2, 2), threshold=1.5)


def test_bad_embeddings_are_rejected() -> None:
    with pytest.raises(InputError, match="n_samples"):
        diversity(torch.zeros(3))
    with pytest.raises(InputError, match="NaN"):
        diversity(torch.tensor([[float("nan")], [0.0]]))


def test_distinct_modes_counts_unique_mode_keys() -> None:
    keys = torch.tensor([1, 1, 2, 3, 4])
    is_mode = torch.tensor([True, True, True, False, False])
    assert distinct_modes(keys, is_mode) == 2
    with pytest.raises(InputError):
        distinct_modes(keys, is_mode[:2])


def test_l1_and_jsd_known_values() -> None:
    p = torch.tensor([1.0, 0.0])
    q = torch.tensor([0.0, 1.0])
    assert l1_distance(p, q) == pytest.approx(2.0)
    assert jensen_shannon(p, q) == pytest.approx(math.log(2))
    assert jensen_shannon(p, p) == pytest.approx(0.0)
    u = torch.tensor([0.5, 0.5])
    assert l1_distance(p, u) == pytest.approx(1.0)
    with pytest.raises(InputError, match="sums"):
        l1_distance(torch.tensor([0.5, 0.2]), u)
    with pytest.raises(InputError, match="negative"):
        jensen_shannon(torch.tensor([1.5, -0.5]), u)
    with pytest.raises(InputError, match="shape"):
        l1_distance(u, torch.ones(3) / 3)


def test_empirical_distribution_and_edge_marginals() -> None:
    support = torch.tensor([3, 5, 9])
    emp = empirical_distribution(torch.tensor([5, 5, 9, 3]), support)
    assert emp.tolist() == [0.25, 0.5, 0.25]
    with pytest.raises(InputError, match="support"):
        empirical_distribution(torch.tensor([4]), support)
    adj = torch.tensor([[[0, 1], [0, 0]], [[0, 0], [1, 0]], [[0, 0], [0, 0]]])
    p = torch.tensor([0.5, 0.25, 0.25])
    m = edge_marginals(adj, p)
    assert m.tolist() == [[0.0, 0.5], [0.25, 0.0]]
    mean_err, max_err = edge_marginal_error(adj, p, torch.tensor([0.25, 0.25, 0.5]))
    assert mean_err == pytest.approx(0.125)
    assert max_err == pytest.approx(0.25)
    with pytest.raises(InputError):
        edge_marginals(adj[0], p)
