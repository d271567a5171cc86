"""Posterior summaries of sampled DAGs: hand-made cases, file layouts and round trips."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from emily.cognition import posterior as P  # noqa: N812
from emily.cognition.data import random_dag
from emily.cognition.envs.dag import structural_hamming_distance
from emily.core.errors import InputError

NAMES = ["a", "b", "c"]
GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


def _graphs(*edge_lists: list[tuple[int, int]], d: int = 3) -> np.ndarray:
    out = np.zeros((len(edge_lists), d, d), dtype=bool)
    for n, edges in enumerate(edge_lists):
        for i, j in edges:
            out[n, i, j] = True
    return out


# a -> b twice, b -> a once, the chain a -> b -> c once
SAMPLES = _graphs([(0, 1)], [(1, 0)], [(0, 1)], [(0, 1), (1, 2)])
TRUTH = _graphs([(0, 1), (1, 2)])[0]


def test_edge_marginals_are_the_fraction_of_graphs_with_the_edge() -> None:
    m = P.edge_marginals(SAMPLES)
    expected = np.array([[0, 0.75, 0], [0.25, 0, 0.25], [0, 0, 0]])
    np.testing.assert_allclose(m, expected)
    weighted = P.edge_marginals(SAMPLES, weights=[0, 1, 0, 1])
    np.testing.assert_allclose(weighted, np.array([[0, 0.5, 0], [0.5, 0, 0.5], [0, 0, 0]]))
    with pytest.raises(InputError, match="weights"):
        P.edge_marginals(SAMPLES, weights=[1, 1])


def test_bad_graph_stacks_are_refused() -> None:
    with pytest.raises(InputError, match="self-loop"):
        P.edge_marginals(np.eye(3)[None])
    with pytest.raises(InputError, match="0/1"):
        P.edge_marginals(np.full((1, 2, 2), 0.5))
    with pytest.raises(InputError, match=r"\[N, d, d\]"):
        P.edge_marginals(np.zeros((2, 3, 4)))


def test_expected_shd_counts_a_reversal_once() -> None:
    # distances: a->b lacks b->c (1); b->a is reversed and lacks b->c (2); 1; 0
    assert P.shd_to(SAMPLES, TRUTH).tolist() == [1, 2, 1, 0]
    assert P.expected_shd(SAMPLES, TRUTH) == pytest.approx(1.0)
    assert P.expected_shd(SAMPLES, TRUTH, weights=[0, 0, 0, 1]) == 0.0


def test_shd_matches_the_environments_definition_on_random_dags() -> None:
    rng = np.random.default_rng(3)
    truth = random_dag(6, 7, rng)
    samples = np.stack([random_dag(6, int(rng.integers(0, 15)), rng) for _ in range(40)])
    expected = [structural_hamming_distance(s, truth) for s in samples]
    assert P.shd_to(samples, truth).tolist() == expected


def test_edge_auroc_on_hand_made_marginals() -> None:
    perfect = np.array([[0, 0.9, 0.1], [0.2, 0, 0.8], [0.0, 0.3, 0]])
    assert P.edge_auroc(perfect, TRUTH) == 1.0
    assert P.edge_auroc(1 - perfect - np.eye(3) * 1, TRUTH) == 0.0
    # one true edge ranked below one of the four absent ones: 7 of 8 pairs in order
    mixed = np.array([[0, 0.9, 0.1], [0.2, 0, 0.25], [0.0, 0.3, 0]])
    assert P.edge_auroc(mixed, TRUTH) == pytest.approx(7 / 8)
    assert math.isnan(P.edge_auroc(perfect, np.zeros((3, 3))))
    with pytest.raises(InputError, match="3 x 3"):
        P.edge_auroc(perfect, np.zeros((2, 2)))


def test_top_graphs_rank_by_frequency_then_score() -> None:
    top = P.top_graphs(SAMPLES, log_scores=[-1.0, -5.0, -1.0, -0.5], k=2)
    assert [g.count for g in top] == [2, 1]
    assert top[0].edges(NAMES) == [("a", "b")]
    assert top[0].frequency == 0.5
    assert top[1].log_score == -0.5  # the chain beats b -> a on score among the singletons
    assert len(P.top_graphs(SAMPLES, k=None)) == 3
    assert P.top_graphs(SAMPLES)[0].log_score is None
    with pytest.raises(InputError, match="log scores"):
        P.top_graphs(SAMPLES, log_scores=[0.0])


@pytest.mark.skipif(
    importlib.util.find_spec("emily.cognition.equivalence") is None,
    reason="emily.cognition.equivalence is not in the tree yet",
)
def test_class_summary_pools_markov_equivalent_graphs() -> None:
    classes = P.class_summary(SAMPLES, k=None)
    # a -> b and b -> a are one class (3 samples); the chain a -> b -> c another (1)
    assert [c.count for c in classes] == [3, 1]
    assert [c.distinct_graphs for c in classes] == [2, 1]
    assert classes[0].frequency == 0.75
    directed, undirected = classes[0].edges(NAMES)
    assert directed == []
    assert undirected == [("a", "b")]
    assert classes[0].representative.edges(NAMES) == [("a", "b")]
    assert len(P.class_summary(SAMPLES, k=1)) == 1


def test_marginals_csv_has_names_on_both_axes_and_reads_back(tmp_path: Path) -> None:
    m = P.edge_marginals(SAMPLES)
    path = P.write_marginals(m, NAMES, tmp_path / "m.csv")
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[0] == ["", "a", "b", "c"]
    assert [r[0] for r in rows[1:]] == NAMES
    assert rows[1] == ["a", "0", "0.75", "0"]
    names, back = P.read_matrix_csv(path)
    assert names == NAMES
    np.testing.assert_allclose(back, m)
    import pandas as pd

    frame = pd.read_csv(path, index_col=0)
    assert list(frame.columns) == list(frame.index) == NAMES
    assert frame.loc["a", "b"] == 0.75


def test_marginals_json_layout(tmp_path: Path) -> None:
    path = P.write_marginals(P.edge_marginals(SAMPLES), NAMES, tmp_path / "m.json")
    payload = json.loads(path.read_text())
    assert payload["columns"] == NAMES
    assert payload["matrix"][0] == [0, 0.75, 0]
    assert payload["edges"][0] == {"source": "a", "target": "b", "probability": 0.75}
    assert len(payload["edges"]) == 3


def test_a_truth_file_round_trips_and_is_reordered_to_the_data(tmp_path: Path) -> None:
    path = P.write_adjacency_csv(TRUTH, NAMES, tmp_path / "t.csv")
    assert path.read_text().splitlines()[1] == "a,0,1,0"
    assert (P.read_graph_csv(path, NAMES) == TRUTH).all()
    reordered = P.read_graph_csv(path, ["c", "b", "a"])
    assert reordered[2, 1]  # a -> b in the order c, b, a
    assert reordered[1, 0]  # b -> c
    with pytest.raises(InputError, match=r"missing \['z'\], unknown \['c'\]"):
        P.read_graph_csv(path, ["a", "b", "z"])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (",a,b\na,0,1\n", "square matrix"),
        (",a,b\nb,0,1\na,0,0\n", "first column names"),
        (",a,b\na,0,0.5\nb,0,0\n", "0 or 1"),
        (",a,b\na,0,x\nb,0,0\n", "not a number"),
        (",a,b\na,1,0\nb,0,0\n", "self-loop"),
        ("", "empty"),
    ],
)
def test_bad_truth_files_are_one_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        P.read_graph_csv(path)


def test_graphml_holds_the_marginal_graph_and_each_distinct_sample(tmp_path: Path) -> None:
    m = P.edge_marginals(SAMPLES)
    path = P.write_graphml(SAMPLES, ["a<1>", "b", "c"], tmp_path / "s.graphml", marginals=m)
    root = ET.parse(path).getroot()
    graphs = root.findall(f"{GRAPHML}graph")
    assert [g.get("id") for g in graphs] == ["marginals", "g1", "g2", "g3"]
    probs = {
        (e.get("source"), e.get("target")): float(e.find(f"{GRAPHML}data").text or "nan")  # type: ignore[union-attr]
        for e in graphs[0].findall(f"{GRAPHML}edge")
    }
    assert probs == {("a<1>", "b"): 0.75, ("b", "a<1>"): 0.25, ("b", "c"): 0.25}
    counts = [int(g.find(f"{GRAPHML}data").text or 0) for g in graphs[1:]]  # type: ignore[union-attr]
    assert counts == [2, 1, 1]


def test_networkx_reads_the_marginal_graph(tmp_path: Path) -> None:
    nx = pytest.importorskip("networkx")
    m = P.edge_marginals(SAMPLES)
    path = P.write_graphml(P.top_graphs(SAMPLES), NAMES, tmp_path / "s.graphml", marginals=m)
    graph = nx.read_graphml(path)
    assert graph.is_directed()
    assert sorted(graph.nodes) == NAMES
    assert graph.edges["a", "b"]["probability"] == 0.75


def test_dot_has_one_digraph_per_graph(tmp_path: Path) -> None:
    m = P.edge_marginals(SAMPLES)
    text = P.write_dot(P.top_graphs(SAMPLES, k=2), NAMES, tmp_path / "s.dot", marginals=m)
    body = text.read_text()
    assert body.count("digraph ") == 3
    assert '"a" -> "b" [label="0.75"' in body
    assert 'label="#1: 2 samples (0.500)"' in body


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    m = P.edge_marginals(SAMPLES)
    heat = P.plot_marginals(m, NAMES, tmp_path / "heat.png", truth=TRUTH)
    top = P.plot_top_graphs(P.top_graphs(SAMPLES, [0, 1, 2, 3]), NAMES, tmp_path / "top.png")
    for path in (heat, top):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5_000
    with pytest.raises(InputError, match="variable names"):
        P.plot_marginals(m, ["a", "b"], tmp_path / "x.png")
