"""Diversity, mode collapse, distances between distributions, edge marginals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, multinomial

from emily.cognition import BDeuScore, BGeScore, DAGHypotheses
from emily.cognition.equivalence import mec_keys, mec_members
from emily.cognition.metrics import (
    DAG_COLLAPSE_ALPHA,
    DAG_COLLAPSE_THRESHOLD,
    dag_collapse,
    detect_mode_collapse,
    distinct_modes,
    diversity,
    edge_marginal_error,
    edge_marginals,
    empirical_distribution,
    jensen_shannon,
    jensen_shannon_log,
    kl_divergence,
    kl_divergence_log,
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


# --- divergences in log space ------------------------------------------------------------------

TINY = 5e-324  # the smallest subnormal float64: TINY / 2 rounds to 0


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_jensen_shannon_is_finite_where_the_mixture_underflows() -> None:
    # (p + q) / 2 underflows to 0 in the second entry while p has mass there: the old
    # probability-space formula returned inf.
    for p, q in ((_t(1.0, TINY), _t(1.0, 0.0)), (_t(1.0, 0.0), _t(1.0, TINY))):
        value = jensen_shannon(p, q)
        assert math.isfinite(value)
        assert 0.0 <= value <= 1e-300


def test_jensen_shannon_of_subnormal_masses_is_right() -> None:
    eps = 1e-320
    p = _t(1.0 - eps, eps)  # 1 - eps == 1 in float64: the mass sits in the subnormal entry
    # JSD((1 - e, e), (1, 0)) = e ln(2) / 2 + O(e^2).
    assert jensen_shannon(p, _t(1.0, 0.0)) == pytest.approx(eps * math.log(2) / 2, rel=1e-3)
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon(p, _t(0.5, 0.5)) == pytest.approx(jensen_shannon(_t(1, 0), _t(0.5, 0.5)))


def test_kl_divergence_known_values_and_support() -> None:
    u = _t(0.5, 0.5)
    assert kl_divergence(_t(1.0, 0.0), u) == pytest.approx(math.log(2))
    assert kl_divergence(u, u) == 0.0
    assert kl_divergence(u, _t(1.0, 0.0)) == math.inf  # the true value, not NaN
    assert kl_divergence(_t(0.25, 0.75), u) == pytest.approx(
        0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    )
    # Subnormal q where p has mass: large but finite (log of 5e-324 is about -744).
    value = kl_divergence(_t(0.5, 0.5), _t(1.0, TINY))
    assert value == pytest.approx(0.5 * math.log(0.5) + 0.5 * (math.log(0.5) - math.log(TINY)))
    assert math.isfinite(kl_divergence(_t(1.0, TINY), _t(1.0, TINY)))


def test_log_variants_take_masses_float64_cannot_hold() -> None:
    tail = -800.0  # exp(-800) underflows to 0 even as a subnormal
    log_p = _t(0.0, tail)
    log_q = _t(0.0, -math.inf)
    assert jensen_shannon_log(log_p, log_q) == pytest.approx(0.0, abs=1e-300)
    assert kl_divergence_log(log_q, log_p) == 0.0
    assert kl_divergence_log(log_p, log_q) == math.inf
    half = math.log(0.5)
    assert jensen_shannon_log(_t(0.0, -math.inf), _t(half, half)) == pytest.approx(
        jensen_shannon(_t(1.0, 0.0), _t(0.5, 0.5))
    )
    assert kl_divergence_log(_t(half, half), _t(0.0, tail)) == pytest.approx(
        0.5 * (half - 0.0) + 0.5 * (half - tail)
    )


@pytest.mark.parametrize(
    ("log_p", "match"),
    [
        ((0.0, 0.0), "not normalised"),
        ((float("nan"), 0.0), "NaN"),
        ((math.inf, 0.0), r"\+inf"),
        ((-math.inf, -math.inf), "not normalised"),
    ],
)
def test_log_variants_validate(log_p: tuple[float, float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        jensen_shannon_log(_t(*log_p), _t(0.0, -math.inf))
    with pytest.raises(InputError, match=match):
        kl_divergence_log(_t(0.0, -math.inf), _t(*log_p))
    with pytest.raises(InputError, match="shape"):
        jensen_shannon_log(_t(0.0), _t(0.0, -math.inf))


@st.composite
def distributions(draw: st.DrawFn, size: int) -> torch.Tensor:
    """Probability vectors with zeros, subnormals and ordinary masses mixed."""
    kinds = draw(
        st.lists(st.sampled_from(["zero", "tiny", "normal"]), min_size=size, max_size=size)
    )
    kinds[draw(st.integers(0, size - 1))] = "normal"  # something must carry the mass
    values = []
    for kind in kinds:
        if kind == "zero":
            values.append(0.0)
        elif kind == "tiny":
            values.append(draw(st.floats(TINY, 1e-308)))
        else:
            values.append(draw(st.floats(1e-3, 1.0)))
    v = torch.tensor(values, dtype=torch.float64)
    normal = torch.tensor([k == "normal" for k in kinds])
    v[normal] *= (1.0 - v[~normal].sum()) / v[normal].sum()
    return v


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(distributions(n), distributions(n))))
def test_divergences_are_finite_bounded_and_agree_with_log_variants(
    pq: tuple[torch.Tensor, torch.Tensor],
) -> None:
    p, q = pq
    jsd = jensen_shannon(p, q)
    assert 0.0 <= jsd <= math.log(2)
    assert jsd == pytest.approx(jensen_shannon(q, p), abs=1e-12)
    with np.errstate(divide="ignore"):
        log_p, log_q = torch.log(p), torch.log(q)
    assert jensen_shannon_log(log_p, log_q) == pytest.approx(jsd, abs=1e-12)
    kl = kl_divergence(p, q)
    assert not math.isnan(kl)
    assert kl >= 0.0
    assert kl_divergence_log(log_p, log_q) == pytest.approx(kl, rel=1e-9, abs=1e-12)
    if bool(((q == 0) & (p > 0)).any()):
        assert kl == math.inf
    else:
        assert math.isfinite(kl)


# --- DAG collapse ------------------------------------------------------------------------------


def _chain(d: int) -> np.ndarray:
    a = np.zeros((d, d), dtype=bool)
    for i in range(d - 1):
        a[i, i + 1] = True
    return a


def _class_samples(graph: np.ndarray, counts: list[int]) -> np.ndarray:
    """``counts[k]`` copies of the k-th member of ``graph``'s class (members in a fixed order)."""
    members = mec_members(graph)
    assert members is not None
    assert len(members) >= len(counts)
    return np.concatenate(
        [np.repeat(m[None], c, axis=0) for m, c in zip(members, counts, strict=False)]
    )


def _uniform_class_samples(graph: np.ndarray, n: int, seed: int) -> np.ndarray:
    members = mec_members(graph)
    assert members is not None
    pick = np.random.default_rng(seed).integers(len(members), size=n)
    return np.stack([members[i] for i in pick])


def test_false_alarm_rate_is_below_alpha_in_the_hardest_small_cases() -> None:
    """Exact, not simulated: every outcome of 20 correct samples over a class of 2 or 3."""
    rate2 = 0.0
    for x in range(21):  # a chain of 2 nodes: members 0 -> 1 and 1 -> 0
        if dag_collapse(_class_samples(_chain(2), [x, 20 - x])).collapsed:
            rate2 += float(binom.pmf(x, 20, 0.5))
    rate3 = 0.0
    for x, y in itertools.product(range(21), repeat=2):  # chain 0 - 1 - 2: three members
        if x + y <= 20 and dag_collapse(_class_samples(_chain(3), [x, y, 20 - x - y])).collapsed:
            rate3 += float(multinomial.pmf([x, y, 20 - x - y], 20, [1 / 3] * 3))
    assert 0.0 < rate2 <= DAG_COLLAPSE_ALPHA  # all 20 (or 19) on one member is flagged
    assert rate3 <= DAG_COLLAPSE_ALPHA


@pytest.mark.parametrize("n", [20, 50, 256, 1000])
@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_all_samples_on_one_member_is_a_collapse(n: int, d: int) -> None:
    complete = np.triu(np.ones((d, d), dtype=bool), 1)  # d! members
    for graph in (_chain(d), complete):
        result = dag_collapse(np.repeat(graph[None], n, axis=0))
        assert result.collapsed, result.reason
        assert result.statistic == pytest.approx(1.0)
        assert result.classes_tested == 1
        assert result.reason.startswith("collapsed")
        spread = dag_collapse(_uniform_class_samples(graph, n, seed=n + d))
        assert not spread.collapsed, spread.reason
        assert spread.statistic is not None
        assert spread.statistic < DAG_COLLAPSE_THRESHOLD


@pytest.mark.parametrize(("d", "visited"), [(4, 2), (5, 2), (5, 3)])
def test_sitting_on_two_or_three_members_is_a_collapse(d: int, visited: int) -> None:
    complete = np.triu(np.ones((d, d), dtype=bool), 1)  # 24 or 120 members
    result = dag_collapse(_class_samples(complete, [300 // visited] * visited))
    assert result.collapsed, result.reason


def test_mild_unevenness_is_not_a_collapse_even_when_significant() -> None:
    result = dag_collapse(_class_samples(_chain(2), [650, 350]))
    assert result.p_value is not None
    assert result.p_value <= DAG_COLLAPSE_ALPHA  # the sampler is measurably off ...
    assert not result.collapsed  # ... but it spreads over both members
    assert result.reason.startswith("spread")


def test_untestable_samples_are_undetermined_and_never_flag() -> None:
    v_structure = np.zeros((3, 3), dtype=bool)
    v_structure[0, 2] = v_structure[1, 2] = True  # a class of one
    env = DAGHypotheses(BGeScore(pd.DataFrame(np.eye(3), columns=list("abc"))))
    three_node_dags = env.enumerate_states()["adj"].numpy()
    cases = {
        "singleton classes": np.repeat(v_structure[None], 500, axis=0),
        "all distinct": three_node_dags,  # 25 DAGs in 11 classes, each under 20 samples
        "too few samples": np.repeat(_chain(3)[None], 19, axis=0),
        "no samples": np.zeros((0, 3, 3), dtype=bool),
    }
    for name, samples in cases.items():
        result = dag_collapse(samples)
        assert not result.collapsed, name
        assert not result.determined, name
        assert result.statistic is None, name
        assert result.classes_tested == 0, name
        assert result.reason.startswith("undetermined"), name
    evenly = dag_collapse(three_node_dags, min_class_samples=2)  # each class once per member
    assert evenly.determined
    assert evenly.classes_tested == 7  # 3 single edges, 3 paths and the triangle
    assert not evenly.collapsed


def test_dag_collapse_validates_input() -> None:
    with pytest.raises(InputError, match="n_samples, d, d"):
        dag_collapse(np.zeros((4, 9)))
    with pytest.raises(InputError, match="cycle"):
        dag_collapse(np.array([[[0, 1], [1, 0]]]))
    with pytest.raises(InputError, match="max_parents"):
        dag_collapse(np.repeat(np.triu(np.ones((3, 3), dtype=bool), 1)[None], 30, 0), max_parents=1)
    with pytest.raises(InputError, match="threshold"):
        dag_collapse(np.zeros((1, 2, 2)), threshold=0.0)
    with pytest.raises(InputError, match="alpha"):
        dag_collapse(np.zeros((1, 2, 2)), alpha=1.0)
    with pytest.raises(InputError, match="min_class_samples"):
        dag_collapse(np.zeros((1, 2, 2)), min_class_samples=1)
    as_tensor = torch.as_tensor(np.repeat(_chain(2)[None], 30, axis=0))
    assert dag_collapse(as_tensor).collapsed
    assert dag_collapse(as_tensor, max_parents=1).collapsed


def test_max_in_degree_is_the_same_for_every_member_of_a_class() -> None:
    """Why ``max_parents`` never splits a class: it admits all members or none (d = 4)."""
    graphs = DAGHypotheses(BGeScore(pd.DataFrame(np.eye(4), columns=list("abcd"))))
    for g in graphs.enumerate_states()["adj"].numpy():
        members = mec_members(g)
        assert members is not None
        assert len({int(m.sum(axis=0).max()) for m in members}) == 1


def test_bdeu_members_of_a_class_have_equal_score() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(200, 4))
    x[:, 1] = (x[:, 0] + rng.integers(0, 2, 200)) % 3
    x[:, 3] = (x[:, 1] * x[:, 2]) % 3
    score = BDeuScore(pd.DataFrame(x, columns=list("abcd")), edge_penalty=0.7)
    env = DAGHypotheses(score)
    adjacency = env.enumerate_states()["adj"].numpy()
    by_class: dict[bytes, list[float]] = {}
    for key, g in zip(mec_keys(adjacency), adjacency, strict=True):
        by_class.setdefault(key, []).append(score.score_graph(g))
    assert max(max(v) - min(v) for v in by_class.values()) < 1e-8
