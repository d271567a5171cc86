"""BGe and BDeu: known values, score equivalence, and clear errors on bad data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import gammaln

from emily.cognition import BDeuScore, BGeScore
from emily.cognition.data import load_table, synthetic_linear_gaussian
from emily.cognition.scores import LocalScores, ScoreCache, parents_of, score_from_spec
from emily.core.errors import InputError


def _data(seed: int = 0, d: int = 3) -> pd.DataFrame:
    return synthetic_linear_gaussian(d=d, seed=seed, n=50)[0]


def test_bge_is_score_equivalent() -> None:
    """Markov-equivalent DAGs (X -> Y vs Y -> X) get the same BGe score."""
    score = BGeScore(_data())
    fwd = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert score.score_graph(fwd) == pytest.approx(score.score_graph(fwd.T), abs=1e-8)
    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert score.score_graph(chain) == pytest.approx(score.score_graph(chain.T), abs=1e-8)


def test_bge_prefers_the_true_edge() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"x": x, "y": 2 * x + 0.1 * rng.normal(size=200)})
    score = BGeScore(frame)
    assert score.score_graph([[0, 1], [0, 0]]) > score.score_graph([[0, 0], [0, 0]]) + 10


def test_bdeu_matches_a_hand_computed_value() -> None:
    frame = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 0, 1, 0]})
    score = BDeuScore(frame, equivalent_sample_size=1.0)
    # b with parent a: configs a=0 -> b counts (2, 0); a=1 -> (1, 1); q=2, r=2.
    aq, aqk = 0.5, 0.25
    expected = 2 * (gammaln(aq) - gammaln(aq + 2))
    expected += gammaln(aqk + 2) - gammaln(aqk) + 2 * (gammaln(aqk + 1) - gammaln(aqk))
    assert score.local_score(1, [0]) == pytest.approx(expected)
    equiv = score.score_graph([[0, 1], [0, 0]])
    assert equiv == pytest.approx(score.score_graph([[0, 0], [1, 0]]))


def test_edge_penalty_is_modular() -> None:
    frame = _data()
    plain, pen = BGeScore(frame), BGeScore(frame, edge_penalty=2.0)
    g = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]])
    assert pen.score_graph(g) == pytest.approx(plain.score_graph(g) - 4.0)


@pytest.mark.parametrize("cls", [BGeScore, BDeuScore])
@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.zeros((0, 3)), "empty"),
        (np.zeros(5), "2-D"),
        (np.ones((1, 3)), "at least 2 rows"),
        (np.ones((5, 1)), "at least 2 variables"),
        (np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]), "NaN"),
        (np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]), "constant"),
        ([["a", "b"], ["c", "d"]], "numeric"),
    ],
)
def test_bad_data_gives_clear_errors(cls: type, data: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cls(data)


def test_bdeu_rejects_non_integer_codes_and_bge_bad_hyperparameters() -> None:
    with pytest.raises(InputError, match="integer"):
        BDeuScore(np.array([[0.5, 1.0], [1.0, 0.0]]))
    with pytest.raises(InputError, match="equivalent_sample_size"):
        BDeuScore(np.array([[0, 1], [1, 0]]), equivalent_sample_size=0.0)
    with pytest.raises(InputError, match="alpha_w"):
        BGeScore(_data(), alpha_w=2.0)
    with pytest.raises(InputError, match="edge_penalty"):
        BGeScore(_data(), edge_penalty=-1.0)
    with pytest.raises(InputError, match="bad local-score"):
        BGeScore(_data()).local_score(0, [0])


def test_local_scores_table_and_lazy_cache_agree() -> None:
    import torch

    score = BGeScore(_data(d=4))
    dense = LocalScores(score, torch.device("cpu"))
    lazy = LocalScores(score, torch.device("cpu"))
    lazy.table = None
    nodes = torch.tensor([0, 1, 2, 3, 3])
    masks = torch.tensor([0b0110, 0b0001, 0b1011, 0b0111, 0])
    assert torch.allclose(dense.lookup(nodes, masks), lazy.lookup(nodes, masks))
    assert lazy.lookup(nodes, masks).dtype == torch.float64


def test_score_spec_round_trip_and_csv_loading(tmp_path: pytest.TempPathFactory) -> None:
    frame = _data()
    score = BGeScore(frame)
    again = score_from_spec(score.spec())
    g = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert again.score_graph(g) == pytest.approx(score.score_graph(g))
    disc = BDeuScore(pd.DataFrame({"a": [0, 1, 1, 0], "b": [1, 1, 0, 0]}))
    assert score_from_spec(disc.spec()).score_graph([[0, 1], [0, 0]]) == pytest.approx(
        disc.score_graph([[0, 1], [0, 0]])
    )
    with pytest.raises(InputError, match="unknown score"):
        score_from_spec({"kind": "x", "data": [], "columns": []})
    path = tmp_path / "t.csv"  # type: ignore[operator]
    frame.to_csv(path, index=False)
    assert load_table(path).shape == frame.shape
    with pytest.raises(InputError, match="no data file"):
        load_table(tmp_path / "missing.csv")  # type: ignore[operator]
    assert math.isfinite(score.score_graph(np.zeros((3, 3))))


@pytest.mark.parametrize("d", [5, 20, 60])
def test_score_cache_answers_like_the_score_when_full(d: int) -> None:
    """Each cache layout (dense table, sorted keys, dict) returns ``local_score`` for hits and
    misses alike, also when a tiny limit forces the sorted and dict caches to start over in a
    call that mixes pairs they hold with new ones (it answered from the emptied arrays before)."""
    score = BGeScore(np.random.default_rng(1).normal(size=(50, d)))
    cache = ScoreCache(score, limit=4)
    rng = np.random.default_rng(2)
    held_nodes, held_masks = np.empty(0, np.int64), np.empty(0, np.int64)
    for _ in range(4):
        nodes = rng.integers(0, d, size=6)
        masks = rng.integers(0, 1 << min(d, 8), size=6) & ~(1 << nodes)
        nodes = np.concatenate([held_nodes, nodes, nodes])
        masks = np.concatenate([held_masks, masks, masks])
        want = [score.local_score(n, parents_of(m, d)) for n, m in zip(nodes, masks, strict=True)]
        assert np.allclose(cache(nodes, masks), want)
        if d > 16:
            assert len(cache) <= 4
        held_nodes, held_masks = nodes[-2:], masks[-2:]


def test_local_scores_lookup_matches_the_score_above_the_dense_table() -> None:
    """Above ``d = 12`` :meth:`LocalScores.lookup` answers from the vectorised cache: values,
    shape and dtype as ``local_score`` gives them, repeats and misses in one call."""
    data = np.random.default_rng(3).normal(size=(40, 20))
    score = BGeScore(data)
    local = LocalScores(score, torch.device("cpu"))
    nodes = torch.tensor([[0, 5], [19, 0]])
    masks = torch.tensor([[0b110, 1 << 19], [0b11, 0b110]])
    got = local.lookup(nodes, masks)
    assert got.shape == (2, 2)
    assert got.dtype == torch.float64
    want = [
        [score.local_score(0, [1, 2]), score.local_score(5, [19])],
        [score.local_score(19, [0, 1]), score.local_score(0, [1, 2])],
    ]
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64))
