"""The structure-learning tutorial runs as written, and what it says about the output holds.

Every ````bash`` block of ``docs/tutorials/structure-learning.md`` runs once, in document order,
as one ``bash`` script in a fresh folder whose ``garden-home`` is the ``EMILY_HOME`` the tutorial
exports (blocks are separate shells, so the export is set here instead), with the project's
``emily`` and ``python`` first on PATH. Every block must exit 0. The tests below then check the
tutorial's claims on what the blocks left behind: the index column dropped and the columns
standardised (said in the output), the marginal matrix's layout, the PNGs, the GraphML file as
networkx reads it, the tracked run's structure artifacts, and the MCMC reference finding the
true graph's equivalence class. The GFlowNet's own figures are checked loosely (the tutorial says
they move with its training budget): the collider's two edges, which the data orient, must
stand out.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "docs" / "tutorials" / "structure-learning.md"
BLOCK = re.compile(r"^```bash[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HOME = "garden-home"
NAMES = ["rain", "temperature", "soil_moisture", "growth", "crop", "pests"]
COLLIDER = [("soil_moisture", "growth"), ("temperature", "growth")]


@dataclass(frozen=True)
class Ran:
    """One block of the tutorial and what running it did."""

    script: str
    returncode: int
    output: str  # stdout then stderr


@dataclass(frozen=True)
class Tutorial:
    """The folder the blocks ran in and each block's outcome."""

    folder: Path
    ran: list[Ran]

    def block(self, text: str) -> Ran:
        found = [r for r in self.ran if text in r.script]
        assert found, f"no bash block of {TUTORIAL.name} contains `{text}`"
        return found[0]


def blocks() -> list[str]:
    return [m.group(1) for m in BLOCK.finditer(TUTORIAL.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Tutorial:
    folder = tmp_path_factory.mktemp("tutorial")
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "EMILY_HOME": str(folder / HOME),
        "EMILY_CONFIG": str(folder / "no-emily.toml"),
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
        "COLUMNS": "100",
    }
    ran: list[Ran] = []
    for script in blocks():
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-ec", script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        ran.append(Ran(script, proc.returncode, proc.stdout + proc.stderr))
        if proc.returncode != 0:
            break  # later blocks depend on this one; test_every_block_exits_0 says why
    return Tutorial(folder, ran)


def test_the_tutorial_sets_the_home_the_blocks_run_in() -> None:
    assert blocks()[0].strip() == f"export EMILY_HOME=$PWD/{HOME}"


def test_every_block_exits_0(tutorial: Tutorial) -> None:
    assert len(tutorial.ran) == len(blocks()), "a block failed, so the later ones did not run"
    for ran in tutorial.ran:
        assert ran.returncode == 0, (
            f"`{ran.script.strip()[:200]}` exited {ran.returncode}\n{ran.output[-3000:]}"
        )


def test_the_table_has_an_index_column_that_training_drops_and_says_so(
    tutorial: Tutorial,
) -> None:
    header = (tutorial.folder / "my.csv").read_text().splitlines()[0]
    assert header == "," + ",".join(NAMES)
    out = " ".join(tutorial.block("emily train --env dag --data my.csv --steps").output.split())
    assert "dropped the unnamed first column ('Unnamed: 0')" in out
    assert "standardised 6 columns to mean 0 and standard deviation 1" in out
    assert f"variables: {', '.join(NAMES)}" in out
    assert "standardized: True" in out
    assert "variant: " in out


def _matrix(path: Path) -> dict[tuple[str, str], float]:
    rows = [line.split(",") for line in path.read_text().splitlines()]
    assert rows[0] == ["", *NAMES]
    assert [r[0] for r in rows[1:]] == NAMES
    return {(rows[i][0], rows[0][j]): float(rows[i][j]) for i in range(1, 7) for j in range(1, 7)}


def test_the_marginal_matrix_and_plots_are_written_as_said(tutorial: Tutorial) -> None:
    p = _matrix(tutorial.folder / "edges.csv")
    assert all(0.0 <= v <= 1.0 for v in p.values())
    assert all(p[(n, n)] == 0.0 for n in NAMES)
    for edge in COLLIDER:  # the data orient the collider: any sampler should find it
        assert p[edge] >= 0.5, (edge, p[edge])
    for png in ("edges.png", "edges-top.png"):
        data = (tutorial.folder / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 10_000
    out = " ".join(tutorial.block("--marginals edges.csv").output.split())
    shd = float(re.search(r"E-SHD ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    auroc = float(re.search(r"edge AUROC ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    # The tutorial's 400-step GFlowNet: near the MCMC check (E-SHD ~2, AUROC ~0.98), not on it.
    assert 0.0 <= shd < 4.0
    assert 0.9 <= auroc <= 1.0
    for what in ("marginals: edges.csv", "graphml: garden.graphml", "plot_top: edges-top.png"):
        assert f"wrote {what}" in out
    assert "Markov equivalence classes" in out


def test_the_pandas_and_networkx_readers_print_what_the_tutorial_shows(
    tutorial: Tutorial,
) -> None:
    out = tutorial.block("pd.read_csv('edges.csv', index_col=0)").output
    assert "(6, 6) rows are parents, columns children: True" in out
    graph_out = tutorial.block("nx.read_graphml").output
    assert graph_out.startswith("6 variables; P(temperature -> growth) = ")
    nx = pytest.importorskip("networkx")
    graph = nx.read_graphml(tutorial.folder / "garden.graphml")
    assert sorted(graph.nodes) == sorted(NAMES)
    p = _matrix(tutorial.folder / "edges.csv")
    for a, b, prob in graph.edges(data="probability"):
        assert prob == pytest.approx(p[(a, b)], abs=1e-6)


def test_the_tracked_run_holds_the_structure_artifacts(tutorial: Tutorial) -> None:
    logged = {p.name for p in (tutorial.folder / HOME).rglob("*") if "structure" in p.parts}
    assert {"edge_marginals.csv", "edge_marginals.png", "top_graphs.png"} <= logged


def test_mcmc_finds_the_true_graphs_class(tutorial: Tutorial) -> None:
    out = json.loads((tutorial.folder / "mcmc.json").read_text())
    assert out["sampler"] == "mcmc"
    assert out["truth"]["auroc"] >= 0.9
    assert out["truth"]["expected_shd"] < 3.0
    best = out["classes"][0]
    directed = {tuple(e) for e in best["directed"]}
    undirected = {frozenset(e) for e in best["undirected"]}
    assert directed == {*COLLIDER, ("growth", "crop")}
    assert undirected == {frozenset({"rain", "soil_moisture"}), frozenset({"temperature", "pests"})}
    assert best["frequency"] == max(c["frequency"] for c in out["classes"])
    printed = tutorial.block("json.load(open('mcmc.json'))").output
    assert printed.startswith("E-SHD ")
    mcmc = _matrix(tutorial.folder / "mcmc-edges.csv")
    for edge in COLLIDER:
        assert mcmc[edge] >= 0.9
