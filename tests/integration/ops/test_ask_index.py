"""``emily ask`` mechanics with a stand-in embedder: chunking, the index's rebuild, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from emily.core import ConfigError, InputError
from emily.memory.embedding import HashTextEmbedder
from emily.ops.knowledge import DocsIndex, ask, collect, find_docs_root, sentences, split_page

PAGE = """# Disk full

Intro text before any section.

## Symptoms
- `emily doctor` marks disk with a cross.

```bash
# not a heading
emily doctor
```

## Diagnosis
See [[Graph store down|the graph runbook]] and [the ADR](../adr/0001.md).
"""


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    (root / "docs" / "notes").mkdir(parents=True)
    (root / "docs" / "hooks").mkdir()
    (root / "ops" / "runbooks").mkdir(parents=True)
    (root / "mkdocs.yml").write_text("site_name: t\n")
    (root / "docs" / "index.md").write_text("# Home\n\nEmily is a triune architecture.\n")
    (root / "docs" / "hooks" / "skip.md").write_text("# Not a page\n")
    (root / "ops" / "runbooks" / "disk-full.md").write_text(PAGE)
    return root


def test_split_page_by_heading_with_title_and_plain_links() -> None:
    passages = split_page("ops/runbooks/disk-full.md", PAGE)
    assert [p.heading for p in passages] == ["Disk full", "Symptoms", "Diagnosis"]
    assert {p.title for p in passages} == {"Disk full"}
    assert "# not a heading" in passages[1].text
    assert passages[2].text == "See the graph runbook and the ADR."
    assert len({p.id for p in passages}) == 3


def test_long_sections_are_split_at_paragraphs() -> None:
    body = "\n\n".join(f"Paragraph {i} " + "word " * 100 for i in range(10))
    passages = split_page("docs/x.md", f"# X\n\n## Long\n{body}")
    assert len(passages) > 1
    assert all(len(p.text) <= 2_000 for p in passages)


def test_collect_reads_docs_and_runbooks_but_not_hooks(tmp_path: Path) -> None:
    paths = {p.path for p in collect(_repo(tmp_path))}
    assert paths == {"docs/index.md", "ops/runbooks/disk-full.md"}


def test_find_docs_root_searches_upwards(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert find_docs_root(root / "docs" / "notes") == root.resolve()


def test_find_docs_root_of_this_clone() -> None:
    root = find_docs_root()
    assert (root / "ops" / "runbooks").is_dir()


def test_missing_docs_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import emily

    monkeypatch.setattr(emily, "__file__", str(tmp_path / "site-packages" / "emily" / "x.py"))
    with pytest.raises(ConfigError, match=r"documentation not found: .*--docs"):
        find_docs_root(tmp_path)


def test_index_rebuilds_only_when_the_docs_change(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    index = DocsIndex(root, tmp_path / "home" / "knowledge", HashTextEmbedder())
    state, rebuilt = index.ensure()
    assert rebuilt
    assert state.passages == 4
    assert index.ensure() == (state, False)
    (root / "docs" / "index.md").write_text("# Home\n\nChanged.\n\n## New\nMore.\n")
    new_state, rebuilt = index.ensure()
    assert rebuilt
    assert new_state.digest != state.digest
    assert new_state.passages == 5


def test_search_finds_an_exact_passage_and_cites_it(tmp_path: Path) -> None:
    # the hash embedder maps equal texts to equal vectors: a passage's own text finds it first
    root = _repo(tmp_path)
    index = DocsIndex(root, tmp_path / "k", HashTextEmbedder())
    passage = next(p for p in collect(root) if p.heading == "Diagnosis")
    hits = index.search(f"{passage.title}. {passage.heading}. {passage.text}", k=2)
    assert hits[0].passage == passage
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_ask_rejects_empty_question_and_bad_k(tmp_path: Path) -> None:
    index = DocsIndex(_repo(tmp_path), tmp_path / "k", HashTextEmbedder())
    with pytest.raises(InputError, match="question is empty"):
        ask(index, "   ")
    with pytest.raises(InputError, match="--top must be at least 1"):
        ask(index, "what?", k=0)


def test_ask_answers_with_sentences_from_the_cited_pages(tmp_path: Path) -> None:
    index = DocsIndex(_repo(tmp_path), tmp_path / "k", HashTextEmbedder())
    result = ask(index, "what is Emily?", k=3)
    assert result.sources
    assert set(result.sources) <= {"docs/index.md", "ops/runbooks/disk-full.md"}
    assert result.answer


def test_sentences_drop_code_and_list_markers() -> None:
    text = "- First point is here, long enough.\n```bash\nemily doctor\n```\nSecond one, also long."
    assert sentences(text) == ["First point is here, long enough.", "Second one, also long."]


def test_cli_ask_without_docs_exits_with_one_clear_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from emily.cli.app import app
    from emily.cli.knowledge_commands import register_knowledge_commands

    # the lead wires the commands into the main app; until then, wire them into a copy here
    if not any(c.name == "ask" for c in app.registered_commands):
        import typer

        app = typer.Typer()
        register_knowledge_commands(app)
    out = CliRunner().invoke(app, ["ask", "anything", "--docs", str(tmp_path)])
    assert out.exit_code != 0
    assert isinstance(out.exception, ConfigError)
    assert "documentation not found" in str(out.exception)
