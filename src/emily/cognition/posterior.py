"""What a structure-learning user takes away from a set of sampled DAGs.

A sampler (GFlowNet or structure MCMC) hands back graphs ``samples [N, d, d]`` (``samples[n, i,
j]``: edge ``i -> j`` in the n-th graph) drawn from the posterior ``p(G | D)``. Nobody reads a
thousand graphs, so this module turns them into the summaries one asks of a posterior:

* :func:`edge_marginals`: ``P(i -> j | D)``, the fraction of graphs holding each edge;
* :func:`top_graphs`: the distinct graphs, most frequent first, with their mass and log score;
* :func:`class_summary`: the same mass pooled per Markov equivalence class (one CPDAG each), for
  observational data cannot tell the DAGs of one class apart, so only the class mass is evidence;
* :func:`expected_shd` and :func:`edge_auroc`: how far the posterior is from a known graph;
* writers for CSV/JSON (the marginal matrix), GraphML and DOT (the marginal graph and each sampled
  graph with its count), and PNG plots (a heat map, the top graphs as node-link diagrams).

Only numpy, scikit-learn (AUROC) and matplotlib (plots): GraphML and DOT are written by hand, so
the core install needs no graph library.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from emily.core.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

ANNOTATE_MAX_NODES = 12
"""Heat maps of up to this many variables print each probability in its cell."""


# --- validation -------------------------------------------------------------------------------
def as_graphs(samples: Any) -> BoolArray:
    """``samples`` (array, tensor or nested list) as a validated ``[N, d, d]`` boolean array.

    A single ``[d, d]`` graph is accepted as a batch of one, so every function here takes either.
    """
    arr = np.asarray(samples)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[0] == 0:
        raise InputError(
            f"graphs must be a non-empty [N, d, d] stack of adjacency matrices, got {arr.shape}"
        )
    if arr.dtype != np.bool_:
        if not np.isin(arr, (0, 1)).all():
            raise InputError("adjacency entries must be 0/1 (or booleans)")
        arr = arr.astype(bool)
    if arr[:, np.arange(arr.shape[1]), np.arange(arr.shape[1])].any():
        raise InputError("a graph has a self-loop (a non-zero diagonal entry); a DAG has none")
    return arr


def _as_truth(truth: Any, d: int) -> BoolArray:
    graph = as_graphs(truth)
    if graph.shape != (1, d, d):
        raise InputError(
            f"the true graph must be {d} x {d} like the samples, got {graph.shape[1:]}"
        )
    truth_graph: BoolArray = graph[0]
    return truth_graph


def _check_columns(columns: Sequence[str], d: int) -> list[str]:
    names = [str(c) for c in columns]
    if len(names) != d:
        raise InputError(f"{len(names)} variable names for {d} variables; expected one per row")
    if len(set(names)) != d:
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"variable names {dup} appear twice; expected unique names")
    return names


# --- summaries --------------------------------------------------------------------------------
def edge_marginals(samples: Any, weights: Any = None) -> FloatArray:
    """``P(i -> j)``: the (weighted) fraction of the graphs that hold edge ``i -> j``.

    With ``weights`` (one non-negative number per graph, e.g. exact posterior probabilities of an
    enumerated space) the fraction is weighted; without, each sample counts once, which is the
    Monte-Carlo estimate for samples drawn from the posterior. The diagonal is 0.
    """
    graphs = as_graphs(samples)
    if weights is None:
        return np.asarray(graphs.mean(axis=0, dtype=np.float64), dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != graphs.shape[0] or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise InputError(
            f"weights must be {graphs.shape[0]} finite non-negative numbers with a positive sum"
        )
    return np.asarray(np.einsum("n,nij->ij", w / w.sum(), graphs.astype(np.float64)))


def shd_to(samples: Any, truth: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """SHD of each sampled graph to ``truth``: additions + deletions + reversals (each counts 1).

    The same count as :func:`emily.cognition.envs.dag.structural_hamming_distance`, for a whole
    batch at once (a reversed edge is one error, not a deletion plus an addition).
    """
    x = as_graphs(samples)
    y = _as_truth(truth, x.shape[1])
    upper = np.triu(np.ones(y.shape, dtype=bool), 1)
    skel_x, skel_y = x | x.transpose(0, 2, 1), y | y.T
    diff_skeleton = ((skel_x ^ skel_y) & upper).sum(axis=(1, 2))
    # An edge both graphs hold between the same pair, pointing differently: i -> j vs j -> i
    # differ at (i, j) in the upper triangle whichever of the two is upper.
    reversed_ = (skel_x & skel_y & upper & (x != y)).sum(axis=(1, 2))
    return np.asarray(diff_skeleton + reversed_, dtype=np.int64)


def expected_shd(samples: Any, truth: Any, weights: Any = None) -> float:
    """E-SHD: the posterior mean structural Hamming distance of the sampled graphs to ``truth``.

    Lower is better; 0 only when every sample is the true graph. Unlike the SHD of one point
    estimate it charges the posterior for every graph it keeps mass on.
    """
    shd = shd_to(samples, truth).astype(np.float64)
    if weights is None:
        return float(shd.mean())
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != shd.shape or (w < 0).any() or w.sum() <= 0:
        raise InputError(f"weights must be {shd.shape[0]} non-negative numbers, positive sum")
    return float(np.dot(w / w.sum(), shd))


def edge_auroc(marginals: Any, truth: Any) -> float:
    """AUROC of the off-diagonal ``P(i -> j)`` as a classifier of the true directed edges.

    1.0: every true edge has a higher marginal than every absent one; 0.5: no better than chance.
    A reversed edge counts as a miss (the edge is directed). ``nan`` when the truth has no edge
    or every edge (one class only: the AUROC is undefined).
    """
    from sklearn.metrics import roc_auc_score

    p = np.asarray(marginals, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise InputError(f"marginals must be a square d x d matrix, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise InputError("marginals must be probabilities in [0, 1]")
    y = _as_truth(truth, p.shape[0])
    off = ~np.eye(p.shape[0], dtype=bool)
    labels = y[off]
    if labels.all() or not labels.any():
        return math.nan
    return float(roc_auc_score(labels.astype(int), p[off]))


@dataclass(frozen=True)
class RankedGraph:
    """One distinct sampled graph: how often it was drawn and its (best known) log score."""

    adjacency: BoolArray
    count: int
    frequency: float
    log_score: float | None

    def edges(self, columns: Sequence[str]) -> list[tuple[str, str]]:
        """The graph's edges as ``(parent, child)`` variable names."""
        return [(columns[i], columns[j]) for i, j in zip(*np.nonzero(self.adjacency), strict=True)]


def _distinct(graphs: BoolArray) -> tuple[BoolArray, np.ndarray[Any, np.dtype[np.intp]]]:
    """Distinct graphs and, per sample, the index of its distinct graph."""
    flat = graphs.reshape(graphs.shape[0], -1)
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    return uniq.reshape(-1, *graphs.shape[1:]), inverse.reshape(-1)


def _scores(log_scores: Any, n: int) -> FloatArray | None:
    if log_scores is None:
        return None
    s = np.asarray(log_scores, dtype=np.float64).reshape(-1)
    if s.shape[0] != n:
        raise InputError(f"{s.shape[0]} log scores for {n} graphs; expected one per graph")
    return s


def top_graphs(samples: Any, log_scores: Any = None, k: int | None = 5) -> list[RankedGraph]:
    """The ``k`` most frequent distinct graphs (all of them for ``k=None``), with their mass.

    The frequency is the graph's share of the samples, the Monte-Carlo estimate of its posterior
    probability. The log score is the highest given for any copy (copies of one graph share it).
    Ties are broken by log score, then by the graph's bits, so the order is reproducible.
    """
    if k is not None and k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    graphs = as_graphs(samples)
    n = graphs.shape[0]
    scores = _scores(log_scores, n)
    uniq, inverse = _distinct(graphs)
    counts = np.bincount(inverse, minlength=uniq.shape[0])
    best = np.full(uniq.shape[0], -np.inf)
    if scores is not None:
        np.maximum.at(best, inverse, scores)
    order = sorted(range(uniq.shape[0]), key=lambda u: (-counts[u], -best[u], u))
    out = []
    for u in order[:k]:
        score = None if scores is None else float(best[u])
        out.append(RankedGraph(uniq[u], int(counts[u]), float(counts[u]) / n, score))
    return out


@dataclass(frozen=True)
class EquivalenceClass:
    """A Markov equivalence class met in the samples: its CPDAG and the mass it collects.

    ``cpdag[i, j] and cpdag[j, i]``: the edge ``i - j`` is undirected (either orientation is in
    the class); ``cpdag[i, j]`` alone: every graph of the class has ``i -> j``.
    """

    cpdag: BoolArray
    count: int
    frequency: float
    distinct_graphs: int
    representative: RankedGraph

    def edges(self, columns: Sequence[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """``(directed, undirected)`` edges by variable name (each undirected pair once)."""
        c = self.cpdag
        directed = [(columns[i], columns[j]) for i, j in zip(*np.nonzero(c & ~c.T), strict=True)]
        both = np.triu(c & c.T, 1)
        undirected = [(columns[i], columns[j]) for i, j in zip(*np.nonzero(both), strict=True)]
        return directed, undirected


def class_summary(
    samples: Any, k: int | None = 5, log_scores: Any = None
) -> list[EquivalenceClass]:
    """The ``k`` equivalence classes of the samples with the most mass (``None``: all).

    Observational data cannot orient an edge that is reversible within its class (BGe and BDeu
    are score-equivalent: every DAG of a class scores the same), so a posterior spreading its
    mass over the DAGs of one class is certain about the class, which this table shows.
    """
    from emily.cognition.equivalence import cpdag, mec_key

    if k is not None and k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    graphs = as_graphs(samples)
    n = graphs.shape[0]
    ranked = top_graphs(graphs, log_scores, k=None)
    classes: dict[Any, list[RankedGraph]] = {}
    for graph in ranked:  # most frequent first, so each class's first member represents it
        classes.setdefault(mec_key(graph.adjacency), []).append(graph)
    out = []
    for members in classes.values():
        count = sum(g.count for g in members)
        pattern = np.asarray(cpdag(members[0].adjacency), dtype=bool)
        out.append(EquivalenceClass(pattern, count, count / n, len(members), members[0]))
    out.sort(key=lambda c: -c.count)  # stable: ties keep the order of their best member
    return out[:k]


# --- reading and writing matrices -------------------------------------------------------------
def write_marginals_csv(marginals: Any, columns: Sequence[str], path: str | Path) -> Path:
    """Write the ``d x d`` matrix as CSV: a header row and a first column of variable names.

    Row ``i``, column ``j`` holds ``P(i -> j)`` (rows are parents, columns children); the top
    left cell is empty, as pandas writes an index, so ``pd.read_csv(path, index_col=0)`` reads
    it back as a labelled frame.
    """
    p = _matrix(marginals)
    names = _check_columns(columns, p.shape[0])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["", *names])
        for name, row in zip(names, p, strict=True):
            writer.writerow([name, *(_cell(v) for v in row)])
    return path


def write_adjacency_csv(adjacency: Any, columns: Sequence[str], path: str | Path) -> Path:
    """Write one graph as a 0/1 matrix in the :func:`write_marginals_csv` layout."""
    graph = as_graphs(adjacency)
    if graph.shape[0] != 1:
        raise InputError(f"expected one graph, got {graph.shape[0]}")
    return write_marginals_csv(graph[0].astype(np.int64), columns, path)


def write_marginals_json(marginals: Any, columns: Sequence[str], path: str | Path) -> Path:
    """Write ``{"columns", "matrix", "edges"}``: names, the matrix by rows (parents), and the
    edges with a non-zero marginal, most probable first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(marginals_payload(marginals, columns), indent=2) + "\n", "utf-8")
    return path


def marginals_payload(marginals: Any, columns: Sequence[str]) -> dict[str, Any]:
    """The JSON form of :func:`write_marginals_json` (also part of ``emily sample --json``)."""
    p = _matrix(marginals)
    names = _check_columns(columns, p.shape[0])
    edges = [
        {"source": names[i], "target": names[j], "probability": float(p[i, j])}
        for i, j in zip(*np.nonzero(p), strict=True)
        if i != j
    ]
    edges.sort(key=lambda e: -float(e["probability"]))
    return {"columns": names, "matrix": p.tolist(), "edges": edges}


def write_marginals(marginals: Any, columns: Sequence[str], path: str | Path) -> Path:
    """CSV or JSON by the file's extension (``.json``: JSON; anything else: CSV)."""
    if Path(path).suffix.lower() == ".json":
        return write_marginals_json(marginals, columns, path)
    return write_marginals_csv(marginals, columns, path)


def read_matrix_csv(path: str | Path) -> tuple[list[str], FloatArray]:
    """A ``d x d`` matrix in the :func:`write_marginals_csv` layout, and its variable names.

    The header (after its first cell) and the first column must name the same variables in the
    same order, so a matrix cannot be read transposed or shifted by a missing name.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no matrix file at {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise InputError(f"{path} is empty; expected a header row of variable names")
    header = [c.strip() for c in rows[0][1:]]
    body = rows[1:]
    d = len(header)
    if d < 2 or len(body) != d or any(len(r) != d + 1 for r in body):
        raise InputError(
            f"{path}: expected a square matrix with a header row and a first column of variable "
            f"names ({d + 1} cells per row, {d} rows under the header); got {len(body)} rows of "
            f"{sorted({len(r) for r in body}) or [0]} cells"
        )
    first = [r[0].strip() for r in body]
    if first != header:
        raise InputError(
            f"{path}: the header names {header} but the first column names {first}; expected "
            "the same variable names in the same order"
        )
    _check_columns(header, d)
    try:
        values = np.array([[float(c) for c in r[1:]] for r in body], dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"{path}: a cell is not a number ({exc})") from None
    return header, values


def read_graph_csv(path: str | Path, columns: Sequence[str] | None = None) -> BoolArray:
    """A known graph (``d x d`` 0/1 CSV, :func:`write_marginals_csv` layout) as a bool matrix.

    With ``columns``, the file's variables must be exactly those names (in any order) and the
    matrix is reordered to ``columns``, so a truth file written in another column order still
    lines up with the samples.
    """
    names, values = read_matrix_csv(path)
    if not np.isin(values, (0.0, 1.0)).all():
        raise InputError(f"{path}: a graph's entries must be 0 or 1 (edge i -> j absent/present)")
    if columns is not None:
        want = [str(c) for c in columns]
        if sorted(names) != sorted(want):
            missing = sorted(set(want) - set(names))
            extra = sorted(set(names) - set(want))
            raise InputError(
                f"{path} names variables {names}; expected the data's {want} "
                f"(missing {missing}, unknown {extra})"
            )
        order = [names.index(c) for c in want]
        values = values[np.ix_(order, order)]
    graph: BoolArray = as_graphs(values.astype(bool))[0]
    return graph


def _matrix(marginals: Any) -> FloatArray:
    p = np.asarray(marginals, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] == 0:
        raise InputError(f"expected a square d x d matrix, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise InputError("the matrix holds NaN or infinite values")
    return p


def _cell(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


# --- graph files ------------------------------------------------------------------------------
def _ranked(graphs: Sequence[RankedGraph] | Any) -> list[RankedGraph]:
    """A list of :class:`RankedGraph` from itself or from a sample stack (all distinct graphs)."""
    if isinstance(graphs, Sequence) and all(isinstance(g, RankedGraph) for g in graphs):
        return list(graphs)
    return top_graphs(graphs, k=None)


def write_graphml(
    graphs: Sequence[RankedGraph] | Any,
    columns: Sequence[str],
    path: str | Path,
    *,
    marginals: Any = None,
) -> Path:
    """Write GraphML: the edge-marginal graph first (if given), then each graph with its mass.

    ``graphs`` is a list of :class:`RankedGraph` or a sample stack (``[N, d, d]``; written as its
    distinct graphs with their counts, which loses nothing but the order of the draws). The
    marginal graph (id ``marginals``) has every edge with ``P > 0`` and its ``probability``; each
    sample graph (id ``g1``, ``g2``, ...) carries ``count``, ``frequency`` and ``log_score``.
    Readers that take one graph per file (networkx, Gephi) get the marginal graph.
    """
    ranked = _ranked(graphs)
    d = ranked[0].adjacency.shape[0] if ranked else _matrix(marginals).shape[0]
    names = _check_columns(columns, d)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns'
        ' http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
        '  <key id="probability" for="edge" attr.name="probability" attr.type="double"/>',
        '  <key id="count" for="graph" attr.name="count" attr.type="int"/>',
        '  <key id="frequency" for="graph" attr.name="frequency" attr.type="double"/>',
        '  <key id="log_score" for="graph" attr.name="log_score" attr.type="double"/>',
    ]

    def graph(
        gid: str, data: dict[str, str], edges: Sequence[tuple[int, int, float | None]]
    ) -> None:
        lines.append(f'  <graph id="{gid}" edgedefault="directed">')
        lines.extend(f'    <data key="{k}">{escape(v)}</data>' for k, v in data.items())
        lines.extend(f"    <node id={quoteattr(name)}/>" for name in names)
        for i, j, p in edges:
            ends = f"source={quoteattr(names[i])} target={quoteattr(names[j])}"
            if p is None:
                lines.append(f"    <edge {ends}/>")
            else:
                lines.append(f'    <edge {ends}><data key="probability">{p!r}</data></edge>')
        lines.append("  </graph>")

    if marginals is not None:
        p = _matrix(marginals)
        pairs = [(int(i), int(j), float(p[i, j])) for i, j in zip(*np.nonzero(p), strict=True)]
        graph("marginals", {}, [e for e in pairs if e[0] != e[1]])
    for rank, g in enumerate(ranked, start=1):
        data = {"count": str(g.count), "frequency": repr(g.frequency)}
        if g.log_score is not None and math.isfinite(g.log_score):
            data["log_score"] = repr(g.log_score)
        edges = [(int(i), int(j), None) for i, j in zip(*np.nonzero(g.adjacency), strict=True)]
        graph(f"g{rank}", data, edges)
    lines.append("</graphml>")
    return _write_text(path, "\n".join(lines) + "\n")


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_dot(
    graphs: Sequence[RankedGraph] | Any,
    columns: Sequence[str],
    path: str | Path,
    *,
    marginals: Any = None,
) -> Path:
    """Write Graphviz DOT: the marginal graph (edge labels and widths by probability) first,
    then one ``digraph`` per distinct graph with its count in the label (``dot -O`` renders
    each)."""
    ranked = _ranked(graphs)
    d = ranked[0].adjacency.shape[0] if ranked else _matrix(marginals).shape[0]
    names = _check_columns(columns, d)
    out: list[str] = []

    def digraph(gid: str, label: str, edges: list[str]) -> None:
        out.append(f"digraph {gid} {{")
        out.append(f"  label={_dot_id(label)};")
        out.extend(f"  {_dot_id(n)};" for n in names)
        out.extend(f"  {e};" for e in edges)
        out.append("}")

    if marginals is not None:
        p = _matrix(marginals)
        edges = [
            f"{_dot_id(names[i])} -> {_dot_id(names[j])} "
            f'[label="{p[i, j]:.2f}", penwidth={0.5 + 3 * p[i, j]:.2f}, weight={p[i, j]!r}]'
            for i, j in zip(*np.nonzero(p), strict=True)
            if i != j
        ]
        digraph("marginals", "edge marginals P(i -> j)", edges)
    for rank, g in enumerate(ranked, start=1):
        label = f"#{rank}: {g.count} samples ({g.frequency:.3f})"
        if g.log_score is not None and math.isfinite(g.log_score):
            label += f", log score {g.log_score:.3f}"
        edges = [
            f"{_dot_id(names[i])} -> {_dot_id(names[j])}"
            for i, j in zip(*np.nonzero(g.adjacency), strict=True)
        ]
        digraph(f"g{rank}", label, edges)
    return _write_text(path, "\n".join(out) + "\n")


def _write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- plots ------------------------------------------------------------------------------------
def marginals_figure(
    marginals: Any, columns: Sequence[str], truth: Any = None, title: str | None = None
) -> Figure:
    """Heat map of ``P(i -> j)``: parents down the side, children along the top.

    True edges (when ``truth`` is given) are outlined, so a missed edge is an outlined pale cell
    and a false one a dark cell without an outline. A bare ``Figure`` (no pyplot state).
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    p = _matrix(marginals)
    d = p.shape[0]
    names = _check_columns(columns, d)
    side = max(4.0, 0.55 * d + 2.0)
    fig = Figure(figsize=(side + 1.2, side))
    ax = fig.subplots()
    shown = np.ma.masked_array(p, mask=np.eye(d, dtype=bool))  # no self-loops: grey diagonal
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#dddddd")
    image = ax.imshow(shown, vmin=0.0, vmax=1.0, cmap=cmap)
    ax.set_xticks(range(d), names, rotation=45, ha="right")
    ax.set_yticks(range(d), names)
    ax.set_xlabel("child j")
    ax.set_ylabel("parent i")
    heading = title or "edge marginals P(i → j | data)"
    if truth is not None:
        heading += "\n(outlined: the true edges)"
    ax.set_title(heading)
    fig.colorbar(image, ax=ax, label="P(i → j)")
    if d <= ANNOTATE_MAX_NODES:
        for i in range(d):
            for j in range(d):
                if i != j:
                    colour = "white" if p[i, j] > 0.6 else "black"
                    ax.text(j, i, f"{p[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color=colour)  # fmt: skip
    if truth is not None:
        y = _as_truth(truth, d)
        for i, j in zip(*np.nonzero(y), strict=True):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="crimson",
                                   linewidth=2.0))  # fmt: skip
    fig.tight_layout()
    return fig


def plot_marginals(
    marginals: Any,
    columns: Sequence[str],
    path: str | Path,
    truth: Any = None,
    title: str | None = None,
) -> Path:
    """Write :func:`marginals_figure` as a PNG."""
    return _save(marginals_figure(marginals, columns, truth, title), path)


def top_graphs_figure(top: Sequence[RankedGraph], columns: Sequence[str]) -> Figure:
    """The graphs of ``top`` as node-link diagrams (a circular layout), each titled with its
    rank, mass and log score, so the leading hypotheses can be compared at a glance."""
    from matplotlib.figure import Figure

    if not top:
        raise InputError("no graphs to draw")
    d = top[0].adjacency.shape[0]
    names = _check_columns(columns, d)
    cols = min(3, len(top))
    rows = math.ceil(len(top) / cols)
    fig = Figure(figsize=(4.0 * cols, 4.0 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    angle = np.pi / 2 - 2 * np.pi * np.arange(d) / d
    xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    for ax in axes[len(top) :]:
        ax.set_axis_off()
    for rank, (ax, g) in enumerate(zip(axes, top, strict=False), start=1):
        ax.set_axis_off()
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.45, 1.45)
        ax.set_aspect("equal")
        for i, j in zip(*np.nonzero(g.adjacency), strict=True):
            ax.annotate(
                "",
                xy=tuple(xy[j]),
                xytext=tuple(xy[i]),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "#333333",
                    "shrinkA": 8,
                    "shrinkB": 8,
                    "mutation_scale": 14,
                },
            )
        ax.scatter(xy[:, 0], xy[:, 1], s=160, color="#cfe3f5", edgecolors="#1f4e79", zorder=3)
        for (x, y), name in zip(xy, names, strict=True):  # labels outside the ring, clear of arrows
            ha = "center" if abs(x) < 0.3 else ("left" if x > 0 else "right")
            va = "center" if abs(y) >= 0.3 or abs(x) >= 0.3 else ("bottom" if y > 0 else "top")
            ax.text(1.16 * x, 1.16 * y, name, ha=ha, va=va, fontsize=8, zorder=4)
        title = f"#{rank}: mass {g.frequency:.3f} ({g.count})"
        if g.log_score is not None and math.isfinite(g.log_score):
            title += f"\nlog score {g.log_score:.2f}"
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_top_graphs(top: Sequence[RankedGraph], columns: Sequence[str], path: str | Path) -> Path:
    """Write :func:`top_graphs_figure` as a PNG."""
    return _save(top_graphs_figure(top, columns), path)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
