"""``emily ask`` over this repository's docs with the real sentence model and LanceDB."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from emily.cli.knowledge_commands import register_knowledge_commands
from emily.memory.embedding import SentenceEmbedder
from emily.ops.knowledge import DocsIndex, ask, find_docs_root

pytestmark = pytest.mark.slow

QUESTIONS = {
    "what happens when the bus is down": "ops/runbooks/bus-router-down.md",
    "the disk holding EMILY_HOME has no space left": "ops/runbooks/disk-full.md",
    "the graph store is down: what happens to episodes?": "ops/runbooks/graph-store-down.md",
    "how do I restore a backup and verify it": "docs/tutorials/backups.md",
    "the GFlowNet collapsed onto few modes": "ops/runbooks/gflownet-mode-collapse.md",
    "the tracking database does not answer": "ops/runbooks/tracking-database-down.md",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> DocsIndex:
    folder = tmp_path_factory.mktemp("knowledge")
    return DocsIndex(find_docs_root(), folder, SentenceEmbedder())


@pytest.mark.parametrize(("question", "page"), sorted(QUESTIONS.items()))
def test_known_question_retrieves_the_right_page(
    index: DocsIndex, question: str, page: str
) -> None:
    result = ask(index, question, k=3)
    assert result.sources[0] == page, [h.passage.path for h in result.hits]
    assert result.answer


def test_cli_ask_json_cites_the_bus_runbook(index: DocsIndex) -> None:
    """The CLI finds the index under EMILY_HOME/knowledge and reuses it while the docs are
    unchanged (the module's index, copied there: building one takes the sentence model ~30 s)."""
    built, _ = index.ensure()
    knowledge = Path(os.environ["EMILY_HOME"]) / "knowledge"
    shutil.copytree(index.folder, knowledge)
    app = typer.Typer()
    register_knowledge_commands(app)
    out = CliRunner().invoke(app, ["ask", "what happens when the bus is down", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout.strip().splitlines()[-1])
    assert payload["sources"][0] == "ops/runbooks/bus-router-down.md"
    assert payload["hits"][0]["passage"]["title"] == "Bus router down"
    reused = DocsIndex(index.root, knowledge, index.embedder)
    assert reused.state() == built
    assert reused.ensure()[1] is False  # still current: nothing rebuilt it
