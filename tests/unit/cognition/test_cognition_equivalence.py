"""Markov equivalence: CPDAGs, class ids and class members against independent ground truth.

The ground truth is the Verma-Pearl characterisation (same skeleton, same v-structures), checked
by brute force over every DAG with up to five nodes, and the known number of classes (OEIS
A007984: 1, 2, 11, 185, 8782 for d = 1..5).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emily.cognition import BGeScore, DAGHypotheses
from emily.cognition.equivalence import (
    cpdag,
    is_acyclic,
    mec_key,
    mec_keys,
    mec_members,
    mec_size,
    v_structures,
)
from emily.core.errors import InputError

NUM_CLASSES = [1, 2, 11, 185, 8782]  # OEIS A007984, d = 1..5
NUM_DAGS = [1, 3, 25, 543, 29281]  # OEIS A003024


def _all_dags(d: int) -> np.ndarray:
    """Every labelled DAG on ``d`` nodes, by brute force over all off-diagonal bit patterns."""
    pairs = [(i, j) for i in range(d) for j in range(d) if i != j]
    codes = np.arange(2 ** len(pairs))
    bits = ((codes[:, None] >> np.arange(len(pairs))) & 1).astype(bool)
    g = np.zeros((codes.size, d, d), dtype=bool)
    for k, (i, j) in enumerate(pairs):
        g[:, i, j] = bits[:, k]
    return g[is_acyclic(g)]


def _adj(d: int, edges: list[tuple[int, int]]) -> np.ndarray:
    a = np.zeros((d, d), dtype=bool)
    for i, j in edges:
        a[i, j] = True
    return a


def _directed(c: np.ndarray, i: int, j: int) -> bool:
    return bool(c[i, j] and not c[j, i])


def _undirected(c: np.ndarray, *pairs: tuple[int, int]) -> bool:
    return all(bool(c[i, j] and c[j, i]) for i, j in pairs)


def _skeleton(a: np.ndarray) -> np.ndarray:
    skeleton: np.ndarray = np.logical_or(a, a.T)
    return skeleton


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 7) -> np.ndarray:
    """A random DAG: random upper-triangular edges under a random node order."""
    d = draw(st.integers(1, max_nodes))
    n_pairs = d * (d - 1) // 2
    bits = draw(st.lists(st.booleans(), min_size=n_pairs, max_size=n_pairs))
    order = draw(st.permutations(range(d)))
    a = np.zeros((d, d), dtype=bool)
    rows, cols = np.triu_indices(d, 1)
    a[np.asarray(order)[rows], np.asarray(order)[cols]] = np.asarray(bits, dtype=bool)
    return a


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_classes_partition_all_dags_into_the_known_number(d: int) -> None:
    graphs = _all_dags(d)
    assert len(graphs) == NUM_DAGS[d - 1]
    keys = mec_keys(graphs)
    by_key: dict[bytes, set[bytes]] = defaultdict(set)
    by_vp: dict[tuple[bytes, frozenset[tuple[int, int, int]]], set[bytes]] = defaultdict(set)
    for key, g in zip(keys, graphs, strict=True):
        by_key[key].add(g.tobytes())
        by_vp[(_skeleton(g).tobytes(), v_structures(g))].add(g.tobytes())
    assert len(by_key) == NUM_CLASSES[d - 1]
    # The same partition, not only the same number of blocks.
    assert sorted(map(sorted, by_key.values())) == sorted(map(sorted, by_vp.values()))


def test_members_of_every_four_node_dag_are_exactly_its_class() -> None:
    graphs = _all_dags(4)
    keys = mec_keys(graphs)
    by_key: dict[bytes, set[bytes]] = defaultdict(set)
    for key, g in zip(keys, graphs, strict=True):
        by_key[key].add(g.tobytes())
    for key, g in zip(keys, graphs, strict=True):
        members = mec_members(g)
        assert members is not None
        assert [m.tobytes() for m in members].count(g.tobytes()) == 1
        assert {m.tobytes() for m in members} == by_key[key]
        assert len(members) == len(by_key[key])


def test_dag_environment_enumeration_gives_185_classes_at_four_nodes() -> None:
    data = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 4)), columns=list("abcd"))
    env = DAGHypotheses(BGeScore(data))
    adj = env.enumerate_states()["adj"].numpy()
    assert len(adj) == 543
    assert len(set(mec_keys(adj))) == 185


@settings(max_examples=150, deadline=None)
@given(dags())
def test_members_share_skeleton_and_v_structures_and_are_distinct_dags(a: np.ndarray) -> None:
    members = mec_members(a)
    assert members is not None
    assert len({m.tobytes() for m in members}) == len(members)
    assert any(np.array_equal(m, a) for m in members)
    key = mec_key(a)
    for m in members:
        assert m.dtype == np.bool_
        assert m.shape == a.shape
        assert bool(is_acyclic(m))
        assert np.array_equal(_skeleton(m), _skeleton(a))
        assert v_structures(m) == v_structures(a)
        assert mec_key(m) == key
    assert mec_size(a) == len(members)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_cpdag_keeps_skeleton_and_orients_what_every_member_agrees_on(a: np.ndarray) -> None:
    c = cpdag(a)
    assert c.dtype == np.bool_
    assert np.array_equal(c | c.T, _skeleton(a))
    members = mec_members(a)
    assert members is not None
    stacked = np.stack(members)
    # An edge is directed in the CPDAG iff every member orients it the same way (compelled).
    compelled = stacked.all(axis=0)
    assert np.array_equal(c & ~c.T, compelled)
    undirected = c & c.T
    assert np.array_equal(undirected, stacked.any(axis=0) & stacked.any(axis=0).T)
    for b in range(a.shape[0]):  # every v-structure stays directed
        for p, _, q in (v for v in v_structures(a) if v[1] == b):
            assert _directed(c, p, b)
            assert _directed(c, q, b)


def test_known_class_sizes() -> None:
    for d in range(1, 7):
        complete = np.triu(np.ones((d, d), dtype=bool), 1)
        assert mec_size(complete) == math.factorial(d)
        chain = _adj(d, [(i, i + 1) for i in range(d - 1)])
        assert mec_size(chain) == d  # a tree without colliders: one member per choice of root
    star_in = _adj(4, [(1, 0), (2, 0), (3, 0)])
    assert mec_size(star_in) == 1
    assert not (cpdag(star_in) & cpdag(star_in).T).any()
    star_out = _adj(4, [(0, 1), (0, 2), (0, 3)])
    assert mec_size(star_out) == 4
    assert mec_size(np.zeros((3, 3), dtype=bool)) == 1


def test_meek_rules_orient_the_textbook_cases() -> None:
    # R1: a -> b <- c collider, b - d below it must point away: b -> d.
    g = _adj(4, [(0, 1), (2, 1), (1, 3)])
    c = cpdag(g)
    assert _directed(c, 1, 3)
    # R2: v-structure 0 -> 2 <- 1 plus 2 -> 3 (R1) and 0 - 3: 0 -> 3 would be forced by 0->2->3.
    g = _adj(4, [(0, 2), (1, 2), (2, 3), (0, 3)])
    c = cpdag(g)
    assert _directed(c, 2, 3)
    assert _directed(c, 0, 3)
    # R3: 1 -> 3 <- 2 collider; 0 adjacent to 1, 2, 3 undirected-wise: 0 -> 3 compelled.
    g = _adj(4, [(0, 1), (0, 2), (1, 3), (2, 3), (0, 3)])
    c = cpdag(g)
    assert _directed(c, 0, 3)
    assert _undirected(c, (0, 1), (0, 2))
    assert mec_size(g) == 3  # 0 - 1 and 0 - 2 oriented any way but 1 -> 0 <- 2


def test_limit_returns_none_above_it() -> None:
    complete = np.triu(np.ones((5, 5), dtype=bool), 1)
    assert mec_members(complete, limit=119) is None
    members = mec_members(complete, limit=120)
    assert members is not None
    assert len(members) == 120
    assert mec_size(complete, limit=10) is None
    with pytest.raises(InputError, match="limit"):
        mec_members(complete, limit=0)


def test_batched_cpdag_matches_one_at_a_time() -> None:
    graphs = _all_dags(3)
    batch = cpdag(graphs)
    assert batch.shape == graphs.shape
    for g, c in zip(graphs, batch, strict=True):
        assert np.array_equal(cpdag(g), c)
    assert mec_keys(graphs) == [mec_key(g) for g in graphs]


def test_keys_differ_across_node_counts_and_accept_ints() -> None:
    assert mec_key(np.zeros((2, 2), dtype=int)) != mec_key(np.zeros((3, 3), dtype=int))
    assert mec_key(_adj(2, [(0, 1)]).astype(int)) == mec_key(_adj(2, [(1, 0)]))


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros(3), "shape"),
        (np.zeros((2, 3)), "shape"),
        (np.eye(2), "self-loops"),
        (np.array([[0, 1], [1, 0]]), "cycle"),
        (np.array([[0, 2], [0, 0]]), "0/1"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric"),
    ],
)
def test_bad_input_is_rejected(bad: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cpdag(bad)


def test_single_graph_functions_reject_stacks() -> None:
    stack = np.zeros((2, 3, 3), dtype=bool)
    with pytest.raises(InputError, match="one DAG"):
        mec_members(stack)
    with pytest.raises(InputError, match="one DAG"):
        mec_key(stack)


def test_rule_four_orients_with_background_knowledge() -> None:
    # R4 never fires on a DAG's own pattern (R1-R3 suffice there, Meek 1995), but it does once
    # an edge has been oriented by choice, which is how mec_members walks a class.
    from emily.cognition.equivalence import _meek

    g = _adj(4, [(0, 1), (1, 0), (0, 2), (2, 0), (0, 3), (3, 0), (3, 2), (2, 1)])
    closed = _meek(g[None])[0]
    assert _directed(closed, 0, 1)
    assert _undirected(closed, (0, 2), (0, 3))
